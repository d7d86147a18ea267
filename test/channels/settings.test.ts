import { ConfigError, loadSettings } from '../../app/src/lib/config';

const dingtalk = { DINGTALK_APP_KEY: 'dingkey', DINGTALK_APP_SECRET: 'dingsecret' };
const feishu = { FEISHU_APP_ID: 'cli_0123456789abcdef', FEISHU_APP_SECRET: 'fs-secret', FEISHU_VERIFICATION_TOKEN: 'fs-token' };

function failure(env: Record<string, string>): ConfigError {
  try {
    loadSettings(env, '/tmp');
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('channel settings', () => {
  it('leaves both channels off without credentials', () => {
    expect(loadSettings({}, '/tmp').channels).toEqual({});
  });

  it('turns DingTalk on in http mode with the documented defaults', () => {
    expect(loadSettings(dingtalk, '/tmp').channels.dingtalk).toEqual({
      mode: 'http',
      appKey: 'dingkey',
      appSecret: 'dingsecret',
      robotCode: 'dingkey',
      eventSubscription: undefined,
      oapiBase: 'https://oapi.dingtalk.com',
      apiBase: 'https://api.dingtalk.com',
    });
  });

  it('takes the robot code, bases, event keys and stream mode from the environment', () => {
    const settings = loadSettings(
      {
        ...dingtalk,
        DINGTALK_ROBOT_CODE: 'robot-1',
        DINGTALK_MODE: 'stream',
        DINGTALK_OAPI_BASE: 'http://127.0.0.1:9/',
        DINGTALK_API_BASE: 'http://127.0.0.1:8',
        DINGTALK_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
        DINGTALK_TOKEN: 'event-token',
      },
      '/tmp',
    ).channels.dingtalk;
    expect(settings).toMatchObject({
      mode: 'stream',
      robotCode: 'robot-1',
      oapiBase: 'http://127.0.0.1:9',
      apiBase: 'http://127.0.0.1:8',
      eventSubscription: { aesKey: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG', token: 'event-token' },
    });
  });

  it('turns Feishu on in webhook mode with open.feishu.cn by default', () => {
    expect(loadSettings(feishu, '/tmp').channels.feishu).toEqual({
      mode: 'webhook',
      appId: 'cli_0123456789abcdef',
      appSecret: 'fs-secret',
      encryptKey: undefined,
      verificationToken: 'fs-token',
      apiBase: 'https://open.feishu.cn',
    });
    expect(loadSettings({ ...feishu, FEISHU_API_BASE: 'https://open.larksuite.com' }, '/tmp').channels.feishu?.apiBase).toBe('https://open.larksuite.com');
  });

  it('needs no verification token for the long connection', () => {
    const { FEISHU_VERIFICATION_TOKEN: _unused, ...withoutToken } = feishu;
    expect(loadSettings({ ...withoutToken, FEISHU_MODE: 'ws' }, '/tmp').channels.feishu?.mode).toBe('ws');
  });

  it.each([
    [{ DINGTALK_APP_KEY: 'k' }, 'DINGTALK_APP_SECRET'],
    [{ DINGTALK_MODE: 'stream' }, 'DINGTALK_APP_KEY'],
    [{ ...dingtalk, DINGTALK_MODE: 'webhook' }, 'DINGTALK_MODE'],
    [{ ...dingtalk, DINGTALK_AES_KEY: 'too-short' }, 'DINGTALK_AES_KEY'],
    [{ ...dingtalk, DINGTALK_AES_KEY: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG' }, 'DINGTALK_TOKEN'],
    [{ ...dingtalk, DINGTALK_TOKEN: 't' }, 'DINGTALK_AES_KEY'],
    [{ ...dingtalk, DINGTALK_OAPI_BASE: 'ftp://oapi.dingtalk.com' }, 'DINGTALK_OAPI_BASE'],
    [{ FEISHU_APP_SECRET: 's' }, 'FEISHU_APP_ID'],
    [{ FEISHU_APP_ID: 'cli_0123456789abcdef', FEISHU_APP_SECRET: 's' }, 'FEISHU_VERIFICATION_TOKEN'],
    [{ ...feishu, FEISHU_MODE: 'ws', FEISHU_APP_ID: 'not-an-app-id' }, 'FEISHU_APP_ID'],
    [{ ...feishu, FEISHU_MODE: 'stream' }, 'FEISHU_MODE'],
    [{ ...feishu, FEISHU_API_BASE: 'open.feishu.cn' }, 'FEISHU_API_BASE'],
  ])('refuses %j naming %s', (env, variable) => {
    const error = failure(env as Record<string, string>);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variable).toBe(variable);
    expect(error.message).toMatch(new RegExp(`^${variable}: `));
  });

  it('treats empty values as unset', () => {
    expect(loadSettings({ DINGTALK_APP_KEY: '', FEISHU_APP_ID: ' ', FEISHU_MODE: '' }, '/tmp').channels).toEqual({});
  });
});
