#!/usr/bin/env bash
# First-boot provisioning of the clawdbot host, run once by cloud-init after it wrote the config
# files. Rendered by components/userData.ts: every placeholder becomes a shell-quoted value.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

ssh_port={{ sshPort }}
public_ports=({{ publicPorts }})
deploy_user={{ deployUser }}
data_volume_id={{ dataVolumeId }}
data_mount={{ dataMount }}
host_dirs=({{ hostDirs }})
cloudwatch_agent_url={{ cloudwatchAgentUrl }}
cloudwatch_agent_config={{ cloudwatchAgentConfigPath }}
sysctl_file={{ sysctlFile }}

# Vendor signing keys, pinned by fingerprint: a key fetched over HTTPS is only as good as the
# server that handed it out.
docker_key_fingerprint=9DC858229FC7DD38854AE2D88D81803C0EBFCD88
cloudwatch_key_fingerprint=937616F3450B7D806CBD9725D58167303B789C72

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A throwaway keyring: the vendor keys are used once here, never trusted system-wide.
export GNUPGHOME="$work/gnupg"
install -m 0700 -d "$GNUPGHOME"

fetch() {
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 --retry 5 --output "$2" "$1"
}

key_fingerprint() {
  gpg --batch --show-keys --with-colons "$1" | awk -F: '$1 == "fpr" { print $10; exit }'
}

require_fingerprint() {
  local actual
  actual=$(key_fingerprint "$1")
  if [ "$actual" != "$2" ]; then
    echo "signing key $1 has fingerprint ${actual:-none}, expected $2" >&2
    exit 1
  fi
}

# --- kernel settings (templates/sysctl.conf) ---------------------------------------------------
# systemd-sysctl ran before cloud-init wrote the file.
sysctl --quiet --load "$sysctl_file"

# --- sshd on the custom port -------------------------------------------------------------------
# Ubuntu 24.04 socket-activates sshd: ssh.socket listens, and at every daemon-reload a systemd
# generator rewrites its ListenStream from sshd_config's Port. `sshd -t` needs the privilege
# separation directory, which only ssh.service creates when it first runs: on a first boot
# nobody may have connected yet.
install -d -m 0755 /run/sshd
sshd -t
systemctl daemon-reload
# systemd refuses to start a socket whose service is running (a connection during boot starts
# it). Stopped, it starts again on the next connection, on the new port.
systemctl stop ssh.service
systemctl restart ssh.socket

# --- host firewall: the security group's ports --------------------------------------------------
# Who may reach them (sshAllowedCidrs, publicCidrs) is the security group's alone, changed in
# place; a copy here would need a new host for every range change.
# Ports that Docker publishes bypass ufw anyway (Docker writes its own iptables rules), so the
# bot's internal services (metrics, redis) bind 127.0.0.1.
ufw --force reset
ufw default deny incoming
ufw default allow outgoing
ufw allow proto tcp to any port "$ssh_port" comment ssh
for port in "${public_ports[@]}"; do
  ufw allow proto tcp to any port "$port" comment clawdbot
done
ufw --force enable

systemctl enable fail2ban
systemctl restart fail2ban

# --- Docker Engine and the compose plugin, from Docker's apt repository -----------------------
install -m 0755 -d /etc/apt/keyrings
fetch https://download.docker.com/linux/ubuntu/gpg "$work/docker.asc"
require_fingerprint "$work/docker.asc" "$docker_key_fingerprint"
install -m 0644 "$work/docker.asc" /etc/apt/keyrings/docker.asc
# shellcheck source=/dev/null
. /etc/os-release
echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/docker.asc] https://download.docker.com/linux/ubuntu ${VERSION_CODENAME} stable" \
  >/etc/apt/sources.list.d/docker.list
apt-get update -q
apt-get install -y -q docker-ce docker-ce-cli containerd.io docker-buildx-plugin docker-compose-plugin
systemctl enable --now docker
# The deployment logs in as this user and drives Docker.
usermod -aG docker "$deploy_user"

# --- AWS CLI, for the backup and restore jobs (they run with the instance role) ----------------
snap install aws-cli --classic

# --- CloudWatch agent: memory, disk, the bot's log files and its Prometheus metrics ------------
arch=$(dpkg --print-architecture)
fetch "$cloudwatch_agent_url/ubuntu/$arch/latest/amazon-cloudwatch-agent.deb" "$work/cloudwatch-agent.deb"
fetch "$cloudwatch_agent_url/ubuntu/$arch/latest/amazon-cloudwatch-agent.deb.sig" "$work/cloudwatch-agent.deb.sig"
fetch https://amazoncloudwatch-agent.s3.amazonaws.com/assets/amazon-cloudwatch-agent.gpg "$work/cloudwatch-agent.gpg"
require_fingerprint "$work/cloudwatch-agent.gpg" "$cloudwatch_key_fingerprint"
gpg --batch --quiet --import "$work/cloudwatch-agent.gpg"
gpg --batch --verify "$work/cloudwatch-agent.deb.sig" "$work/cloudwatch-agent.deb"
dpkg -i "$work/cloudwatch-agent.deb"

# --- the data volume: everything under the bot's root outlives this instance -------------------
# Pulumi attaches it after the instance exists, and re-attaches it to a replacement. A Nitro
# instance names it by its volume id (without the dash); a blank volume gets a file system once.
data_device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${data_volume_id//-/}
for _ in $(seq 600); do
  [ -e "$data_device" ] && break
  sleep 1
done
[ -e "$data_device" ] || { echo "the data volume $data_volume_id was not attached within 10 minutes" >&2; exit 1; }
blkid "$data_device" >/dev/null || mkfs.ext4 -q -L clawdbot-data "$data_device"
install -d "$data_mount"
echo "UUID=$(blkid -s UUID -o value "$data_device") $data_mount ext4 defaults,nofail 0 2" >>/etc/fstab
mount "$data_mount"

# --- the bot's directories, then the agent (which tails the log dir) ---------------------------
# The deployment's steps run as the deploy user and write all of them; it installs the backup
# timer too.
install -m 0755 -o "$deploy_user" -g "$deploy_user" -d "${host_dirs[@]}"
/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c "file:$cloudwatch_agent_config"
