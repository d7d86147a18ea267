import { z } from 'zod';

// DingTalk and Feishu settings (DINGTALK_*, FEISHU_*). The channels issue fills this in;
// keys are environment variable names so that a validation error names the variable.
export const channelSettingsSchema = z.object({}).transform(() => ({}));

export type ChannelSettings = z.infer<typeof channelSettingsSchema>;
