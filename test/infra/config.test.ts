import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { utils as sshUtils } from 'ssh2';
import { parse } from 'yaml';
import { SECRET_KEYS } from '../../infra/config/secret-keys';
import { reveal, simulate, SimulationError, type SimulateOptions } from '../../infra/simulate';
import { inputs, only } from './graph';

// Each bad setting stops the program before it declares a single resource, with an error that
// names the key. The stack (pulumi:pulumi:Stack) itself is the only thing registered.

// A whole-program simulation takes seconds on a busy 2-core machine; the default 5 s is not a bound
// on anything this suite asserts.
jest.setTimeout(60_000);

async function rejection(stack: string, options: SimulateOptions): Promise<SimulationError> {
  try {
    await simulate(stack, options);
  } catch (error) {
    if (error instanceof SimulationError) return error;
    throw error;
  }
  throw new Error(`stack ${stack} accepted ${JSON.stringify(options)}`);
}

async function expectRejected(stack: string, options: SimulateOptions, message: string | RegExp) {
  const error = await rejection(stack, options);
  expect(error.message).toMatch(message);
  expect(error.resources.map((resource) => resource.type)).toEqual(['pulumi:pulumi:Stack']);
}

describe('config rejections', () => {
  it('sshPort 22', async () => {
    await expectRejected('dev', { config: { sshPort: 22 } }, /^clawdbot:sshPort: 22 is the port every scanner tries/);
  });

  it.each([0, 65536])('sshPort %p out of range', async (sshPort) => {
    await expectRejected('dev', { config: { sshPort } }, `clawdbot:sshPort: ${sshPort} is out of range; use a whole number from 1 to 65535`);
  });

  it('sshPort on one of the gateway ports', async () => {
    await expectRejected('dev', { config: { sshPort: 18789 } }, "clawdbot:sshPort: 18789 is the gateway's gateway port");
    await expectRejected('dev', { config: { sshPort: 443 } }, "clawdbot:sshPort: 443 is the gateway's https port");
  });

  it.each(['10.0.0.0/33', '300.1.2.0/24', '10.0.0.1', 'office', '2001:db8::/129', ' 10.0.0.0/8'])('invalid CIDR %p in sshAllowedCidrs', async (cidr) => {
    await expectRejected('dev', { config: { sshAccess: 'direct', sshAllowedCidrs: ['198.51.100.0/24', cidr] } }, `clawdbot:sshAllowedCidrs: ${JSON.stringify(cidr)} is not a valid CIDR`);
  });

  it.each([
    ['203.0.113.5/24', '203.0.113.0/24'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['2001:db8::1/32', '2001:db8::/32'],
    ['2001:db8:0:0:1::/64', '2001:db8::/64'],
  ])('a CIDR with host bits, %p, naming its network address', async (cidr, network) => {
    await expectRejected('dev', { config: { sshAccess: 'direct', sshAllowedCidrs: [cidr] } }, `clawdbot:sshAllowedCidrs: ${cidr} has host bits set; use its network address, ${network}`);
    await expectRejected('prod', { config: { publicCidrs: ['0.0.0.0/0', cidr] } }, `clawdbot:publicCidrs: ${cidr} has host bits set; use its network address, ${network}`);
  });

  it('invalid CIDR in publicCidrs', async () => {
    await expectRejected('prod', { config: { publicCidrs: ['0.0.0.0/0', '::/0', 'everyone'] } }, 'clawdbot:publicCidrs: "everyone" is not a valid CIDR');
  });

  it('empty CIDR lists', async () => {
    await expectRejected('prod', { config: { publicCidrs: [] } }, 'clawdbot:publicCidrs: must be a non-empty list of CIDRs');
  });

  it.each(['0.0.0.0/0', '::/0', '::0/0'])('sshAllowedCidrs containing %p in prod', async (cidr) => {
    await expectRejected(
      'prod',
      { config: { sshAccess: 'direct', sshAllowedCidrs: ['203.0.113.0/24', cidr] } },
      `clawdbot:sshAllowedCidrs: ${cidr} opens SSH to the whole internet, which prod refuses`,
    );
  });

  it.each([
    ['0.0.0.0/1', 'IPv4 /8'],
    ['128.0.0.0/1', 'IPv4 /8'],
    ['10.0.0.0/7', 'IPv4 /8'],
    ['2000::/3', 'IPv6 /32'],
    ['2001:d00::/24', 'IPv6 /32'],
  ])('sshAllowedCidrs %p in prod, world-open in all but name', async (cidr, bound) => {
    await expectRejected(
      'prod',
      { config: { sshAccess: 'direct', sshAllowedCidrs: [cidr] } },
      `clawdbot:sshAllowedCidrs: ${cidr} opens SSH to more than an ${bound}, which prod refuses (no office or VPN range is that wide)`,
    );
  });

  it('takes the widest ranges prod allows for SSH, and any range in dev', async () => {
    await expect(simulate('prod', { config: { sshAccess: 'direct', sshAllowedCidrs: ['10.0.0.0/8', '2001:db8::/32'] } })).resolves.toBeDefined();
    await expect(simulate('dev', { config: { sshAccess: 'direct', sshAllowedCidrs: ['0.0.0.0/1', '128.0.0.0/1'] } })).resolves.toBeDefined();
  });

  it('a domain whose hosted zone is not found, before anything exists in AWS', async () => {
    const error = await rejection('prod', { config: { domain: 'no-zone.example.org' } });
    expect(error.message).toMatch(/^clawdbot:domain: no public Route53 hosted zone named no-zone\.example\.org was found/);
    // The lookup goes through the stack's provider (same credentials as the record), which
    // exists only in Pulumi's state.
    expect(error.resources.map((resource) => resource.type)).toEqual(['pulumi:pulumi:Stack', 'pulumi:providers:aws']);
  });

  it('a domain that is not a domain name', async () => {
    await expectRejected('prod', { config: { domain: 'my bot' } }, 'clawdbot:domain: "my bot" is not a domain name');
  });

  it('a host name that is not one DNS label', async () => {
    await expectRejected('prod', { config: { hostName: 'bot.team' } }, 'clawdbot:hostName: "bot.team" is not a single DNS label');
  });

  it('target aws without a pinned ami, saying how to look up the current one for the instance\'s CPU', async () => {
    await expectRejected(
      'prod',
      { unset: ['ami'] },
      'clawdbot:ami: is required for target aws: pin an Ubuntu 24.04 image, e.g. the current one: aws ssm get-parameter --name /aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id',
    );
  });

  it('backupReplicaRegion equal to the stack\'s own region', async () => {
    await expectRejected('prod', { config: { backupReplicaRegion: 'ap-southeast-1' } }, "clawdbot:backupReplicaRegion: is the stack's own region (aws:region ap-southeast-1)");
  });

  it('prod without backupReplicaRegion', async () => {
    await expectRejected('prod', { unset: ['backupReplicaRegion'] }, 'clawdbot:backupReplicaRegion: prod replicates its backups to a second region');
  });

  it.each(['ubuntu-24.04', 'ami-123', 'ami-0123456789ABCDEF0'])('ami %p, not an AMI id', async (ami) => {
    await expectRejected('dev', { config: { ami } }, `clawdbot:ami: ${JSON.stringify(ami)} is not an AMI id`);
  });

  it.each(['t3.large', 't4g.small', 'm5.large', 'c7g.medium'])('instanceType %p, not 2 vCPU / 4 GiB', async (instanceType) => {
    await expectRejected(
      'dev',
      { config: { instanceType } },
      `clawdbot:instanceType: ${instanceType} is not one of the 2 vCPU / 4 GiB types t4g.medium, t3.medium, t3a.medium`,
    );
  });

  it.each([
    'ops@',
    'ops.example.com',
    'ops@example',
    'two words@example.com',
    'a@b.c"',
    '"ops"@example.com',
    'ops@example.com,boss@example.com',
    'ops@ops@example.com',
    'ops@example.c0m',
    'ops@example.c',
    'ops@-example.com',
    'ops@example..com',
    '.ops@example.com',
  ])('malformed alarmEmail %p', async (alarmEmail) => {
    await expectRejected('prod', { config: { alarmEmail } }, `clawdbot:alarmEmail: ${JSON.stringify(alarmEmail)} is not an email address`);
  });

  it('a missing model API key, with Pulumi\'s own error', async () => {
    await expectRejected('prod', { unset: ['modelApiKey'] }, /^Missing required configuration variable 'clawdbot:modelApiKey'\n\tplease set a value using the command `pulumi config set --secret clawdbot:modelApiKey <value>`/);
  });

  it('a missing DingTalk app secret when DingTalk is on', async () => {
    await expectRejected('dev', { config: { dingtalkAppKey: 'dingappkey' }, unset: ['dingtalkAppSecret'] }, "Missing required configuration variable 'clawdbot:dingtalkAppSecret'");
  });

  it('a missing Feishu app secret or verification token when Feishu is on', async () => {
    await expectRejected('dev', { config: { feishuAppId: 'cli_0123456789abcdef' }, unset: ['feishuAppSecret'] }, "Missing required configuration variable 'clawdbot:feishuAppSecret'");
    await expectRejected(
      'dev',
      { config: { feishuAppId: 'cli_0123456789abcdef' }, unset: ['feishuVerificationToken'] },
      "Missing required configuration variable 'clawdbot:feishuVerificationToken'",
    );
  });

  it('a malformed DingTalk AES key, without echoing the secret', async () => {
    const error = await rejection('dev', { config: { dingtalkAppKey: 'dingappkey' }, secrets: { dingtalkAesKey: 'too-short-secret-value' } });
    expect(error.message).toBe('clawdbot:dingtalkAesKey: must be 43 characters of A-Z, a-z, 0-9, + and / (the EncodingAESKey format)');
    expect(error.message).not.toContain('too-short-secret-value');
  });

  it('a root volume under 50 GB', async () => {
    await expectRejected('dev', { config: { rootVolumeSizeGb: 30 } }, 'clawdbot:rootVolumeSizeGb: 30 is out of range; use a whole number from 50 to 16384');
  });

  it('a backup retention outside 1-3650 days', async () => {
    await expectRejected('dev', { config: { backupRetentionDays: 0 } }, 'clawdbot:backupRetentionDays: 0 is out of range');
  });

  it('values outside an enumeration, with Pulumi\'s own error', async () => {
    await expectRejected('dev', { config: { vpc: 'mine' } }, `Configuration 'clawdbot:vpc' value 'mine' is not a legal enum value (["default","dedicated"])`);
    await expectRejected('dev', { config: { environment: 'staging' } }, `Configuration 'clawdbot:environment' value 'staging' is not a legal enum value`);
    await expectRejected('dev', { config: { backupEncryption: 'sse-c' } }, `Configuration 'clawdbot:backupEncryption' value 'sse-c' is not a legal enum value`);
  });

  it('an SSH public key that is not one', async () => {
    await expectRejected('dev', { config: { sshPublicKey: '-----BEGIN OPENSSH PRIVATE KEY-----' } }, 'clawdbot:sshPublicKey: is not an OpenSSH public key');
  });

  it('a model endpoint that is not an http(s) URL, and a bad expiry date', async () => {
    await expectRejected('dev', { config: { modelEndpoint: 'api.deepseek.com' } }, 'clawdbot:modelEndpoint: "api.deepseek.com" is not a URL');
    await expectRejected('dev', { config: { modelEndpoint: 'ftp://models.example.com' } }, 'clawdbot:modelEndpoint: must be an http(s) URL');
    await expectRejected('dev', { config: { modelKeyExpiresAt: '31/01/2030' } }, 'clawdbot:modelKeyExpiresAt: "31/01/2030" is not a date in YYYY-MM-DD form');
  });

  it('a key of the wrong type, as the CLI would', async () => {
    await expect(simulate('dev', { config: { targetBackups: 'sometimes' } })).rejects.toThrow("Stack 'dev' with configuration key 'targetBackups' must be of type 'boolean'");
  });

  it('target aws without an SSH public key', async () => {
    await expectRejected('dev', { unset: ['sshPublicKey'] }, 'clawdbot:sshPublicKey: is required for target aws: the public key installed for the ubuntu user');
  });

  it('sshAccess direct without SSH ranges, and ssm with them (it opens no SSH port)', async () => {
    await expectRejected('prod', { config: { sshAccess: 'direct' } }, 'clawdbot:sshAllowedCidrs: is required with sshAccess direct: the office or VPN ranges that may reach SSH');
    await expectRejected('dev', { config: { sshAccess: 'direct', sshAllowedCidrs: [] } }, 'clawdbot:sshAllowedCidrs: is required with sshAccess direct');
    await expectRejected('dev', { config: { sshAllowedCidrs: ['203.0.113.0/24'] } }, 'clawdbot:sshAllowedCidrs: must be empty with sshAccess ssm');
    await expectRejected('dev', { config: { sshAccess: 'bastion' } }, `Configuration 'clawdbot:sshAccess' value 'bastion' is not a legal enum value (["ssm","direct"])`);
  });

  it('a target that is neither aws nor ssh, with Pulumi\'s own error', async () => {
    await expectRejected('dev', { config: { target: 'gcp' } }, `Configuration 'clawdbot:target' value 'gcp' is not a legal enum value (["aws","ssh"])`);
  });

  describe('target ssh', () => {
    const machine = { target: 'ssh', targetHost: '192.0.2.20', targetUser: 'deploy', targetHostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMachineHostKey' };

    it('without the host key that every connection is pinned to', async () => {
      await expectRejected('dev', { config: { ...machine, targetHostKey: '' } }, 'clawdbot:targetHostKey: is required for target ssh');
      await expectRejected('dev', { config: { ...machine, targetHostKey: '192.0.2.20 ssh-ed25519 AAAA' } }, 'clawdbot:targetHostKey: is not an OpenSSH public key');
    });

    it('with an RSA host key, which @pulumi/command would offer the server as the SHA-1 algorithm ssh-rsa only', async () => {
      await expectRejected('dev', { config: { ...machine, targetHostKey: 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ root@machine' } }, 'clawdbot:targetHostKey: is an ssh-rsa key');
    });

    it('without a host or a user', async () => {
      await expectRejected('dev', { config: { ...machine, targetHost: '' } }, 'clawdbot:targetHost: is required for target ssh: the address or DNS name of your machine');
      await expectRejected('dev', { config: { ...machine, targetUser: '' } }, 'clawdbot:targetUser: is required for target ssh: the user the deployment logs in as');
    });

    it.each(['my machine', 'host:22', 'http://nas.local', '-nas'])('targetHost %p', async (targetHost) => {
      await expectRejected('dev', { config: { ...machine, targetHost } }, `clawdbot:targetHost: ${JSON.stringify(targetHost)} is not an IP address or a DNS name`);
    });

    it.each(['Deploy User', 'root;', '1bot'])('targetUser %p', async (targetUser) => {
      await expectRejected('dev', { config: { ...machine, targetUser } }, `clawdbot:targetUser: ${JSON.stringify(targetUser)} is not a user name`);
    });

    it('targetPort out of range', async () => {
      await expectRejected('dev', { config: { ...machine, targetPort: 70000 } }, 'clawdbot:targetPort: 70000 is out of range; use a whole number from 1 to 65535');
    });

    it('targetArchitecture, with Pulumi\'s own error', async () => {
      await expectRejected('dev', { config: { ...machine, targetArchitecture: 'riscv64' } }, `Configuration 'clawdbot:targetArchitecture' value 'riscv64' is not a legal enum value`);
    });

    it('ECR, which needs an instance role', async () => {
      await expectRejected('dev', { config: { ...machine, imageTransport: 'ecr' } }, 'clawdbot:imageTransport: ecr needs target aws (the host pulls with its instance role); use ssh');
    });

    it.each(['restoreFromBucket', 'restoreFromPrefix', 'restoreFromRegion'])('%s without backups', async (key) => {
      const value = { restoreFromBucket: 'clawdbot-old-backups', restoreFromPrefix: 'clawdbot-prod', restoreFromRegion: 'ap-northeast-1' }[key];
      await expectRejected('dev', { config: { ...machine, [key]: value } }, `clawdbot:${key}: needs backups: on target ssh, set targetBackups to true`);
    });

    it('a named backup to restore without backups', async () => {
      await expectRejected(
        'dev',
        { config: { ...machine, restoreOnBoot: 'clawdbot-dev/2025/03/01/clawdbot-20250301T030512Z.tar.gz' } },
        'clawdbot:restoreOnBoot: needs backups: on target ssh, set targetBackups to true, or restoreOnBoot to none',
      );
    });
  });

  describe('the deploy key', () => {
    it('missing, with Pulumi\'s own error', async () => {
      await expectRejected('dev', { unset: ['sshPrivateKey'] }, /^Missing required configuration variable 'clawdbot:sshPrivateKey'/);
    });

    it('not a key, without echoing what was given', async () => {
      const error = await rejection('dev', { secrets: { sshPrivateKey: 'hunter2-not-a-private-key' } });
      expect(error.message).toMatch(/^clawdbot:sshPrivateKey: is not a private key SSH can use without a passphrase \(/);
      expect(error.message).not.toContain('hunter2');
    });

    it('protected by a passphrase', async () => {
      const { private: encrypted } = sshUtils.generateKeyPairSync('ed25519', { passphrase: 'passphrase', cipher: 'aes256-cbc', rounds: 1 });
      await expectRejected('dev', { secrets: { sshPrivateKey: encrypted } }, /^clawdbot:sshPrivateKey: is not a private key SSH can use without a passphrase \(.*passphrase/);
    });

    it('a public key instead of the private one', async () => {
      const { public: publicKey } = sshUtils.generateKeyPairSync('ed25519');
      await expectRejected('dev', { secrets: { sshPrivateKey: publicKey } }, 'clawdbot:sshPrivateKey: is a public key; give the private key');
    });

    it('on aws, a key that is not the pair of sshPublicKey: the host would refuse it', async () => {
      const { private: other } = sshUtils.generateKeyPairSync('ed25519');
      await expectRejected('dev', { secrets: { sshPrivateKey: other } }, 'clawdbot:sshPrivateKey: is not the private key of sshPublicKey: the host would refuse it');
    });
  });

  it('imageTransport outside ssh and ecr, with Pulumi\'s own error', async () => {
    await expectRejected('dev', { config: { imageTransport: 'scp' } }, `Configuration 'clawdbot:imageTransport' value 'scp' is not a legal enum value (["ssh","ecr"])`);
  });

  it.each(['tomorrow', '25:00', 'daily; rm -rf /', 'every day'])('backupSchedule %p, not a systemd OnCalendar expression', async (backupSchedule) => {
    await expectRejected('dev', { config: { backupSchedule } }, `clawdbot:backupSchedule: ${JSON.stringify(backupSchedule)} is not a systemd OnCalendar expression (e.g. daily, hourly`);
  });

  it.each([
    ['someday', 'clawdbot-dev'],
    ['clawdbot-prod/2025/03/01/clawdbot-20250301T030512Z.tar.gz', 'clawdbot-dev'],
    ['clawdbot-dev/2025/03/01/clawdbot-20250301T030512Z.zip', 'clawdbot-dev'],
  ])('restoreOnBoot %p, not latest, none or a key under %s/', async (restoreOnBoot, prefix) => {
    await expectRejected('dev', { config: { restoreOnBoot } }, `clawdbot:restoreOnBoot: ${JSON.stringify(restoreOnBoot)} is not latest, none or the key of a backup under ${prefix}/`);
  });

  it('restoreOnBoot outside the restore source', async () => {
    await expectRejected(
      'dev',
      { config: { restoreFromPrefix: 'clawdbot-prod', restoreOnBoot: 'clawdbot-dev/2025/03/01/clawdbot-20250301T030512Z.tar.gz' } },
      'is not latest, none or the key of a backup under clawdbot-prod/',
    );
  });

  it.each([
    ['restoreFromBucket', 'My_Bucket', 'is not an S3 bucket name'],
    ['restoreFromRegion', 'Singapore', 'is not an AWS region (e.g. ap-southeast-1)'],
  ])('%s %p', async (key, value, problem) => {
    await expectRejected('prod', { config: { [key]: value } }, `clawdbot:${key}: ${JSON.stringify(value)} ${problem}`);
  });

  it.each(['/clawdbot-prod', 'clawdbot prod', '/'])('restoreFromPrefix %p', async (restoreFromPrefix) => {
    await expectRejected('prod', { config: { restoreFromPrefix } }, 'clawdbot:restoreFromPrefix: is not a key prefix (e.g. clawdbot-prod');
  });

  it.each(['baseImage', 'caddyImage', 'redisImage'])('%s that is not an image reference', async (key) => {
    await expectRejected('dev', { config: { [key]: 'https://mirror.example.cn/caddy' } }, `clawdbot:${key}: "https://mirror.example.cn/caddy" is not a Docker image reference`);
    await expectRejected('dev', { config: { [key]: 'Caddy:Latest Version' } }, `clawdbot:${key}: "Caddy:Latest Version" is not a Docker image reference`);
  });

  it.each([0, 51])('keepReleases %p', async (keepReleases) => {
    await expectRejected('dev', { config: { keepReleases } }, `clawdbot:keepReleases: ${keepReleases} is out of range; use a whole number from 1 to 50`);
  });
});

describe('config acceptance', () => {
  it('lets dev open SSH to the world (key-only, fail2ban)', async () => {
    await expect(simulate('dev', { config: { sshAccess: 'direct', sshAllowedCidrs: ['0.0.0.0/0', '::/0'] } })).resolves.toBeDefined();
  });

  it('takes single addresses and network addresses in any IPv6 spelling', async () => {
    await expect(simulate('prod', { config: { sshAccess: 'direct', sshAllowedCidrs: ['198.51.100.7/32', '2001:DB8:0::/48', '2001:db8::1/128'] } })).resolves.toBeDefined();
  });

  it('needs no model key for the built-in rules model', async () => {
    const simulation = await simulate('dev', { config: { modelProvider: 'rules' }, unset: ['modelApiKey'] });
    const env = reveal(only(simulation, 'clawdbot:secrets:Secrets').outputs.botEnvironment) as Record<string, string>;
    expect(env.MODEL_PROVIDER).toBe('rules');
    expect(env).not.toHaveProperty('MODEL_API_KEY');
  });

  it.each(['ops@example.com', 'ops+alarms@mail.example.co.uk', 'Zhang.San@Example.CN', "o'brien@example.org"])('takes alarmEmail %p', async (alarmEmail) => {
    const simulation = await simulate('prod', { config: { alarmEmail } });
    expect(inputs(only(simulation, 'aws:sns/topicSubscription:TopicSubscription', 'clawdbot-prod-alarms-email')).endpoint).toBe(alarmEmail);
  });

  it.each(['registry.cn-hangzhou.aliyuncs.com/library/caddy:2.10-alpine', 'mirror.example.cn:5000/redis:7.4-alpine', 'caddy@sha256:' + 'a'.repeat(64)])(
    'takes the image mirror %p',
    async (caddyImage) => {
      const simulation = await simulate('dev', { config: { caddyImage } });
      expect(inputs(only(simulation, 'command:remote:Command', 'clawdbot-dev-activate')).create).toContain(`CADDY_IMAGE='${caddyImage}'`);
    },
  );

  it('takes a named backup of its own, or of the restore source, to restore on boot', async () => {
    const own = await simulate('dev', { config: { restoreOnBoot: 'clawdbot-dev/2025/03/01/clawdbot-20250301T030512Z.tar.gz' } });
    expect(inputs(only(own, 'command:remote:Command', 'clawdbot-dev-restore-on-boot')).create).toContain("RESTORE_ON_BOOT='clawdbot-dev/2025/03/01/clawdbot-20250301T030512Z.tar.gz'");
    await expect(
      simulate('dev', { config: { restoreFromPrefix: 'clawdbot-prod/', restoreOnBoot: 'clawdbot-prod/2025/03/01/clawdbot-20250301T030512Z.tar.gz' } }),
    ).resolves.toBeDefined();
  });

  it.each(['hourly', '*-*-* 03:30:00', 'Mon..Fri 01:30', 'daily Asia/Shanghai'])('takes backupSchedule %p', async (backupSchedule) => {
    const simulation = await simulate('dev', { config: { backupSchedule } });
    expect(inputs(only(simulation, 'command:remote:Command', 'clawdbot-dev-backup-timer')).create).toContain(`OnCalendar=${backupSchedule}\n`);
  });

  it('normalizes the domain', async () => {
    const simulation = await simulate('prod', { config: { domain: 'Example.COM.' } });
    expect(simulation.outputs.publicUrl).toBe('https://bot.example.com');
  });
});

describe('committed stack files', () => {
  const stackFile = (stack: string) => parse(readFileSync(path.join(__dirname, '../../Pulumi.' + stack + '.yaml'), 'utf8')) as { config: Record<string, unknown> };

  it.each(['dev', 'prod'])('%s holds no secret in plain text', (stack) => {
    const config = stackFile(stack).config;
    for (const key of Object.keys(SECRET_KEYS)) {
      const value = config[`clawdbot:${key}`];
      // Absent, or Pulumi ciphertext written by `pulumi config set --secret`.
      if (value !== undefined) expect(value).toEqual({ secure: expect.any(String) });
    }
  });
});
