import type { DingtalkArgs, FeishuArgs, ModelProvider, SecretsArgs } from '../../components/shared/secrets';
import type { ConfigReader } from './reader';

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DINGTALK_AES_KEY = /^[A-Za-z0-9+/]{43}$/;

/** The bot's model and chat channels. */
export function readBot(config: ConfigReader): SecretsArgs {
  return { model: readModel(config), dingtalk: readDingtalk(config), feishu: readFeishu(config) };
}

function readModel(config: ConfigReader): SecretsArgs['model'] {
  const provider: ModelProvider = config.oneOf('modelProvider', ['openai', 'anthropic', 'rules']);
  const keyExpiresAt = config.optionalString('modelKeyExpiresAt');
  if (keyExpiresAt !== undefined && !(DATE.test(keyExpiresAt) && !Number.isNaN(Date.parse(keyExpiresAt)))) {
    config.fail('modelKeyExpiresAt', `${JSON.stringify(keyExpiresAt)} is not a date in YYYY-MM-DD form`);
  }
  return {
    provider,
    name: config.optionalString('modelName'),
    endpoint: config.url('modelEndpoint'),
    apiKey: provider === 'rules' ? undefined : config.requiredSecret('modelApiKey'),
    apiSecret: provider === 'rules' ? undefined : config.optionalSecret('modelApiSecret'),
    keyExpiresAt,
  };
}

function readDingtalk(config: ConfigReader): DingtalkArgs | undefined {
  const appKey = config.optionalString('dingtalkAppKey');
  if (appKey === undefined) return undefined;
  return {
    mode: config.oneOf('dingtalkMode', ['http', 'stream']),
    appKey,
    appSecret: config.requiredSecret('dingtalkAppSecret'),
    robotCode: config.optionalString('dingtalkRobotCode'),
    token: config.optionalSecret('dingtalkToken'),
    aesKey: config.optionalSecret('dingtalkAesKey', (value) =>
      DINGTALK_AES_KEY.test(value) ? undefined : 'must be 43 characters of A-Z, a-z, 0-9, + and / (the EncodingAESKey format)',
    ),
  };
}

function readFeishu(config: ConfigReader): FeishuArgs | undefined {
  const appId = config.optionalString('feishuAppId');
  if (appId === undefined) return undefined;
  const mode = config.oneOf('feishuMode', ['webhook', 'ws']);
  return {
    mode,
    appId,
    appSecret: config.requiredSecret('feishuAppSecret'),
    apiBase: config.url('feishuApiBase') ?? config.fail('feishuApiBase', 'must be set (https://open.feishu.cn, or https://open.larksuite.com for Lark)'),
    verificationToken: mode === 'webhook' ? config.requiredSecret('feishuVerificationToken') : undefined,
    encryptKey: config.optionalSecret('feishuEncryptKey'),
  };
}
