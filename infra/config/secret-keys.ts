/**
 * Secret keys, set with `pulumi config set --secret <key>`. `generated` ones are created by the
 * stack (@pulumi/random) when they are not supplied.
 */
export const SECRET_KEYS = {
  sshPrivateKey: {
    generated: false,
    description: 'Private key the deployment logs in with (OpenSSH or PEM, no passphrase); on aws, the pair of sshPublicKey. Required.',
  },
  modelApiKey: { generated: false, description: 'API key of the model provider. Required unless modelProvider is `rules`.' },
  modelApiSecret: { generated: false, description: 'Second credential, for providers that issue one with the key. Optional.' },
  dingtalkAppSecret: { generated: false, description: 'DingTalk app secret (AppSecret / Client Secret). Required when dingtalkAppKey is set.' },
  dingtalkToken: { generated: true, description: 'Token of the DingTalk HTTP event subscription (http mode). Generated when unset.' },
  dingtalkAesKey: { generated: true, description: '43-character EncodingAESKey of the DingTalk HTTP event subscription (http mode). Generated when unset.' },
  feishuAppSecret: { generated: false, description: 'Feishu app secret. Required when feishuAppId is set.' },
  feishuVerificationToken: { generated: false, description: 'Verification Token from the Feishu console. Required in webhook mode.' },
  feishuEncryptKey: { generated: true, description: 'Encrypt Key of the Feishu event subscription (webhook mode). Generated when unset.' },
} as const;

export type SecretKey = keyof typeof SECRET_KEYS;
