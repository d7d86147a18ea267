import type { ModelProvider } from '../lib/config';

// Model families that accept pictures. OpenAI-compatible endpoints do not say whether a model
// reads images, so the name decides; every Claude model since Claude 3 does.
const VISION_MODEL_NAMES = [
  /gpt-4o/i,
  /gpt-4\.1/i,
  /gpt-4-turbo/i,
  /gpt-5/i,
  /^o[134](-|$)/i,
  /vision/i,
  /(^|[-_.])vl([-_.]|$)/i,
  /qvq/i,
  /glm-4(\.\d+)?v/i,
  /gemini/i,
  /claude/i,
  /pixtral/i,
  /llava/i,
  /minicpm-v/i,
];

export function supportsVision(provider: ModelProvider, name: string): boolean {
  if (provider === 'rules') return false;
  if (provider === 'anthropic') return true;
  return VISION_MODEL_NAMES.some((pattern) => pattern.test(name));
}
