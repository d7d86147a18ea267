import { z } from 'zod';
import { emptyAsUndefined, optionalString } from '../lib/validation';

// DingTalk and Feishu settings (DINGTALK_*, FEISHU_*). Keys are environment variable names so
// that a validation error names the variable. A channel is on when its credentials are set.

/** An http(s) base URL, kept without a trailing slash so paths can be appended. */
const baseUrl = (fallback: string) =>
  z.preprocess(
    emptyAsUndefined,
    z
      .url({ protocol: /^https?$/, message: 'must be an http(s) URL' })
      .default(fallback)
      .transform((url) => url.replace(/\/+$/, '')),
  );

/** DingTalk's EncodingAESKey: 43 characters that base64-decode (with "=" appended) to 32 bytes. */
const dingtalkAesKey = z.preprocess(
  emptyAsUndefined,
  z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}$/, 'must be the 43-character EncodingAESKey from the DingTalk console')
    .optional(),
);

const channelEnvSchema = z.object({
  DINGTALK_APP_KEY: optionalString,
  DINGTALK_APP_SECRET: optionalString,
  DINGTALK_AES_KEY: dingtalkAesKey,
  DINGTALK_TOKEN: optionalString,
  DINGTALK_ROBOT_CODE: optionalString,
  DINGTALK_OAPI_BASE: baseUrl('https://oapi.dingtalk.com'),
  DINGTALK_API_BASE: baseUrl('https://api.dingtalk.com'),
  DINGTALK_MODE: z.preprocess(emptyAsUndefined, z.enum(['http', 'stream']).optional()),
  FEISHU_APP_ID: optionalString,
  FEISHU_APP_SECRET: optionalString,
  FEISHU_ENCRYPT_KEY: optionalString,
  FEISHU_VERIFICATION_TOKEN: optionalString,
  FEISHU_API_BASE: baseUrl('https://open.feishu.cn'),
  FEISHU_MODE: z.preprocess(emptyAsUndefined, z.enum(['webhook', 'ws']).optional()),
});

type ChannelEnv = z.infer<typeof channelEnvSchema>;

export interface DingtalkSettings {
  mode: 'http' | 'stream';
  appKey: string;
  appSecret: string;
  robotCode: string;
  /** The encrypted HTTP event subscription is served only when both are set. */
  eventSubscription?: { aesKey: string; token: string };
  oapiBase: string;
  apiBase: string;
}

export interface FeishuSettings {
  mode: 'webhook' | 'ws';
  appId: string;
  appSecret: string;
  encryptKey?: string;
  /** Required in webhook mode; the long connection is authenticated by the app secret instead. */
  verificationToken?: string;
  apiBase: string;
}

export interface ChannelSettings {
  dingtalk?: DingtalkSettings;
  feishu?: FeishuSettings;
}

function requireVar(ctx: z.RefinementCtx, env: ChannelEnv, variable: keyof ChannelEnv, why: string): void {
  if (env[variable] === undefined) ctx.addIssue({ code: 'custom', path: [variable], message: `required ${why}` });
}

function checkDingtalk(env: ChannelEnv, ctx: z.RefinementCtx): void {
  const anySet = [env.DINGTALK_APP_KEY, env.DINGTALK_APP_SECRET, env.DINGTALK_MODE, env.DINGTALK_AES_KEY, env.DINGTALK_TOKEN].some(
    (v) => v !== undefined,
  );
  if (!anySet) return;
  requireVar(ctx, env, 'DINGTALK_APP_KEY', 'to enable the DingTalk channel');
  requireVar(ctx, env, 'DINGTALK_APP_SECRET', 'to enable the DingTalk channel');
  if (env.DINGTALK_AES_KEY !== undefined) requireVar(ctx, env, 'DINGTALK_TOKEN', 'when DINGTALK_AES_KEY is set');
  if (env.DINGTALK_TOKEN !== undefined) requireVar(ctx, env, 'DINGTALK_AES_KEY', 'when DINGTALK_TOKEN is set');
}

function checkFeishu(env: ChannelEnv, ctx: z.RefinementCtx): void {
  const anySet = [env.FEISHU_APP_ID, env.FEISHU_APP_SECRET, env.FEISHU_MODE, env.FEISHU_ENCRYPT_KEY, env.FEISHU_VERIFICATION_TOKEN].some(
    (v) => v !== undefined,
  );
  if (!anySet) return;
  requireVar(ctx, env, 'FEISHU_APP_ID', 'to enable the Feishu channel');
  requireVar(ctx, env, 'FEISHU_APP_SECRET', 'to enable the Feishu channel');
  if ((env.FEISHU_MODE ?? 'webhook') === 'webhook') {
    requireVar(ctx, env, 'FEISHU_VERIFICATION_TOKEN', 'in FEISHU_MODE=webhook: every callback is checked against it');
  }
  // The SDK's long connection refuses other app ids; say so at start rather than in a log line later.
  if (env.FEISHU_MODE === 'ws' && env.FEISHU_APP_ID !== undefined && !/^cli_[0-9a-fA-F]{16}$/.test(env.FEISHU_APP_ID)) {
    ctx.addIssue({ code: 'custom', path: ['FEISHU_APP_ID'], message: 'must look like cli_ followed by 16 hex digits' });
  }
}

export const channelSettingsSchema = channelEnvSchema
  .superRefine((env, ctx) => {
    checkDingtalk(env, ctx);
    checkFeishu(env, ctx);
  })
  .transform((env): ChannelSettings => {
    const settings: ChannelSettings = {};
    if (env.DINGTALK_APP_KEY && env.DINGTALK_APP_SECRET) {
      settings.dingtalk = {
        mode: env.DINGTALK_MODE ?? 'http',
        appKey: env.DINGTALK_APP_KEY,
        appSecret: env.DINGTALK_APP_SECRET,
        robotCode: env.DINGTALK_ROBOT_CODE ?? env.DINGTALK_APP_KEY,
        eventSubscription:
          env.DINGTALK_AES_KEY && env.DINGTALK_TOKEN ? { aesKey: env.DINGTALK_AES_KEY, token: env.DINGTALK_TOKEN } : undefined,
        oapiBase: env.DINGTALK_OAPI_BASE,
        apiBase: env.DINGTALK_API_BASE,
      };
    }
    if (env.FEISHU_APP_ID && env.FEISHU_APP_SECRET) {
      settings.feishu = {
        mode: env.FEISHU_MODE ?? 'webhook',
        appId: env.FEISHU_APP_ID,
        appSecret: env.FEISHU_APP_SECRET,
        encryptKey: env.FEISHU_ENCRYPT_KEY,
        verificationToken: env.FEISHU_VERIFICATION_TOKEN,
        apiBase: env.FEISHU_API_BASE,
      };
    }
    return settings;
  });
