import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';

export type ModelProvider = 'openai' | 'anthropic' | 'rules';

export interface ModelArgs {
  provider: pulumi.Input<ModelProvider>;
  name?: pulumi.Input<string>;
  endpoint?: pulumi.Input<string>;
  apiKey?: pulumi.Input<string>;
  apiSecret?: pulumi.Input<string>;
  /** YYYY-MM-DD; the bot turns it into the days-to-expiry gauge. */
  keyExpiresAt?: pulumi.Input<string>;
}

export interface DingtalkArgs {
  /** Plain: http mode decides whether the webhook token and AES key are generated. */
  mode: 'http' | 'stream';
  appKey: pulumi.Input<string>;
  appSecret: pulumi.Input<string>;
  robotCode?: pulumi.Input<string>;
  /** HTTP event subscription token; generated when not supplied (http mode only). */
  token?: pulumi.Input<string>;
  /** HTTP event subscription EncodingAESKey; generated when not supplied (http mode only). */
  aesKey?: pulumi.Input<string>;
}

export interface FeishuArgs {
  /** Plain: webhook mode decides whether the encrypt key is generated. */
  mode: 'webhook' | 'ws';
  appId: pulumi.Input<string>;
  appSecret: pulumi.Input<string>;
  apiBase: pulumi.Input<string>;
  /** Issued by Feishu; needed in webhook mode to check every callback. */
  verificationToken?: pulumi.Input<string>;
  /** Generated when not supplied (webhook mode only). */
  encryptKey?: pulumi.Input<string>;
}

export interface SecretsArgs {
  model: ModelArgs;
  dingtalk?: DingtalkArgs;
  feishu?: FeishuArgs;
}

/**
 * The bot's credentials: generated ones (gateway API key, admin token, webhook tokens that were
 * not supplied) and supplied ones, folded into the environment the bot reads. Everything that
 * leaves this component is a Pulumi secret.
 */
export class Secrets extends pulumi.ComponentResource {
  public readonly gatewayApiKey: pulumi.Output<string>;
  public readonly adminToken: pulumi.Output<string>;
  /** Present when DingTalk runs in http mode: paste into the DingTalk console. */
  public readonly dingtalkToken?: pulumi.Output<string>;
  public readonly dingtalkAesKey?: pulumi.Output<string>;
  /** Present when Feishu runs in webhook mode: paste into the Feishu console. */
  public readonly feishuEncryptKey?: pulumi.Output<string>;
  /** Environment variables for the bot (app/src/lib/config.ts and app/src/channels/settings.ts names), as one secret. */
  public readonly botEnvironment: pulumi.Output<Record<string, string>>;
  /** The names in botEnvironment, plain: they follow the config, never a secret. */
  public readonly botEnvironmentNames: pulumi.Output<string[]>;

  constructor(name: string, args: SecretsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('clawdbot:secrets:Secrets', name, {}, opts);

    // Letters and digits only: the values travel through env files, headers and URLs unquoted.
    const generate = (suffix: string, length: number) =>
      pulumi.secret(new random.RandomPassword(`${name}-${suffix}`, { length, special: false }, { parent: this }).result);
    const suppliedOrGenerated = (supplied: pulumi.Input<string> | undefined, suffix: string, length: number) =>
      supplied === undefined ? generate(suffix, length) : pulumi.secret(supplied);

    this.gatewayApiKey = generate('gateway-api-key', 48);
    this.adminToken = generate('admin-token', 48);

    const env: Record<string, pulumi.Input<string> | undefined> = {
      CLAWDBOT_API_KEYS: this.gatewayApiKey,
      CLAWDBOT_ADMIN_TOKEN: this.adminToken,
      MODEL_PROVIDER: args.model.provider,
      MODEL_NAME: args.model.name,
      MODEL_ENDPOINT: args.model.endpoint,
      MODEL_API_KEY: args.model.apiKey,
      MODEL_API_SECRET: args.model.apiSecret,
      MODEL_KEY_EXPIRES_AT: args.model.keyExpiresAt,
    };

    const dingtalk = args.dingtalk;
    if (dingtalk) {
      Object.assign(env, {
        DINGTALK_MODE: dingtalk.mode,
        DINGTALK_APP_KEY: dingtalk.appKey,
        DINGTALK_APP_SECRET: dingtalk.appSecret,
        DINGTALK_ROBOT_CODE: dingtalk.robotCode,
      });
      if (dingtalk.mode === 'http') {
        this.dingtalkToken = suppliedOrGenerated(dingtalk.token, 'dingtalk-token', 32);
        // DingTalk's EncodingAESKey is exactly 43 characters of base64 alphabet.
        this.dingtalkAesKey = suppliedOrGenerated(dingtalk.aesKey, 'dingtalk-aes-key', 43);
        Object.assign(env, { DINGTALK_TOKEN: this.dingtalkToken, DINGTALK_AES_KEY: this.dingtalkAesKey });
      }
    }

    const feishu = args.feishu;
    if (feishu) {
      Object.assign(env, {
        FEISHU_MODE: feishu.mode,
        FEISHU_APP_ID: feishu.appId,
        FEISHU_APP_SECRET: feishu.appSecret,
        FEISHU_API_BASE: feishu.apiBase,
        FEISHU_VERIFICATION_TOKEN: feishu.verificationToken,
      });
      if (feishu.mode === 'webhook') {
        this.feishuEncryptKey = suppliedOrGenerated(feishu.encryptKey, 'feishu-encrypt-key', 32);
        env.FEISHU_ENCRYPT_KEY = this.feishuEncryptKey;
      }
    }

    const present = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, pulumi.Input<string>] => entry[1] !== undefined));
    this.botEnvironment = pulumi.secret(pulumi.output(present) as pulumi.Output<Record<string, string>>);
    this.botEnvironmentNames = pulumi.output(Object.keys(present));

    this.registerOutputs({
      gatewayApiKey: this.gatewayApiKey,
      adminToken: this.adminToken,
      dingtalkToken: this.dingtalkToken,
      dingtalkAesKey: this.dingtalkAesKey,
      feishuEncryptKey: this.feishuEncryptKey,
      botEnvironment: this.botEnvironment,
      botEnvironmentNames: this.botEnvironmentNames,
    });
  }
}
