import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { ConfigReader } from './reader';

/** Arguments of the stack's one AWS provider. */
export interface AwsConfig {
  region: string;
  provider: aws.ProviderArgs;
}

/** aws:* settings that are credentials: secrets, however they were set. */
const AWS_CREDENTIAL_KEYS = ['accessKey', 'secretKey', 'token'];

/** The stack's region and provider, its resources tagged with `tags`. */
export function readAws(tags: Record<string, string>): AwsConfig {
  const region = new ConfigReader('aws').string('region');
  return { region, provider: readAwsProvider(region, tags) };
}

/**
 * The provider's arguments: every aws:* setting of the stack (region, profile, assumeRoles,
 * endpoints...) as the SDK's own aws.config reads and types them. An explicit provider gets no
 * stack config by itself, unlike the default one, so without this it would ignore aws:profile or
 * an assumed role. The stack's tags are added to any aws:defaultTags.
 */
function readAwsProvider(region: string, tags: Record<string, string>): aws.ProviderArgs {
  const settings = aws.config as unknown as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const key of Object.keys(settings)) {
    const value = settings[key];
    if (value === undefined || typeof value === 'function') continue;
    args[key] = AWS_CREDENTIAL_KEYS.includes(key) ? pulumi.secret(value) : value;
  }
  const configuredTags = (args.defaultTags as aws.types.input.ProviderDefaultTags | undefined)?.tags;
  return { ...args, region, defaultTags: { tags: { ...configuredTags, ...tags } } };
}
