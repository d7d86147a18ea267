# The restore tool (HOST_PATHS.restoreCommand): `restore [latest|<key>]` replaces the data dir
# with a backup's. Run as root on the host; see docs/disaster-recovery.md.

load_backup_env
use_restore_source
take_deploy_lock
key=$(resolve_backup "${1:-latest}")
restore_backup "$key"
