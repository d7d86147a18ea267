import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import S3rver from 's3rver';

// A local S3-compatible server (s3rver) standing in for the backup bucket. It accepts the
// fixed credentials S3RVER/S3RVER, which the test host gets through a shared credentials file,
// the way a real host gets its instance role's.

export const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface LocalS3 {
  endpoint: string;
  bucket: string;
  /** An AWS shared credentials file for these credentials. */
  credentialsFile: string;
  stop(): Promise<void>;
}

export async function startS3(args: { dir: string; address: string; port: number; bucket: string }): Promise<LocalS3> {
  mkdirSync(args.dir, { recursive: true });
  const server = new S3rver({
    address: args.address,
    port: args.port,
    directory: path.join(args.dir, 'objects'),
    silent: true,
    configureBuckets: [{ name: args.bucket, configs: [] }],
  });
  await server.run();
  const credentialsFile = path.join(args.dir, 'credentials');
  writeFileSync(
    credentialsFile,
    `[default]\naws_access_key_id = ${S3_CREDENTIALS.accessKeyId}\naws_secret_access_key = ${S3_CREDENTIALS.secretAccessKey}\n`,
    { mode: 0o600 },
  );
  return { endpoint: `http://${args.address}:${args.port}`, bucket: args.bucket, credentialsFile, stop: () => server.close() };
}
