import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { run } from './exec';

// Images for the e2e run, built where Pulumi would build them (the CI side), never pulled: a
// Debian bookworm root made by debootstrap, Node from the npm registry, Caddy and Redis from
// Debian. Downloads are cached across runs in CACHE_DIR.

export const CACHE_DIR = process.env.CLAWDBOT_E2E_CACHE ?? '/var/tmp/clawdbot-e2e-cache';
const IMAGES_DIR = path.join(__dirname, '..', 'images');
/** Debian's ca-certificates bundle on the CI machine. */
const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

export const E2E_IMAGES = {
  debian: 'localhost/clawdbot-e2e/debian:bookworm',
  node: 'localhost/clawdbot-e2e/node:22-bookworm-slim',
  services: 'localhost/clawdbot-e2e/services:latest',
} as const;

/** A minimal bookworm root as a tarball, made once per cache. */
async function debianRootfs(): Promise<string> {
  const tarball = path.join(CACHE_DIR, `debian-bookworm-minbase-${process.arch}.tar`);
  if (existsSync(tarball)) return tarball;
  mkdirSync(CACHE_DIR, { recursive: true });
  const root = mkdtempSync(path.join(CACHE_DIR, 'rootfs-'));
  try {
    await run('debootstrap', ['--variant=minbase', 'bookworm', root, 'http://deb.debian.org/debian']);
    rmSync(path.join(root, 'var/cache/apt/archives'), { recursive: true, force: true });
    rmSync(path.join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
    mkdirSync(path.join(root, 'var/lib/apt/lists/partial'), { recursive: true });
    await run('tar', ['--numeric-owner', '-C', root, '-cf', `${tarball}.partial`, '.']);
    renameSync(`${tarball}.partial`, tarball);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return tarball;
}

/** `npm pack <spec>` into the cache, once; returns the tarball. */
async function npmPackage(spec: string, filePrefix: string): Promise<string> {
  mkdirSync(CACHE_DIR, { recursive: true });
  const cached = readdirSync(CACHE_DIR).filter((file) => file.startsWith(filePrefix) && file.endsWith('.tgz'));
  if (cached.length > 0) return path.join(CACHE_DIR, cached.sort().at(-1)!);
  const file = (await run('npm', ['pack', spec, '--silent', '--pack-destination', CACHE_DIR])).trim().split('\n').at(-1)!;
  return path.join(CACHE_DIR, file);
}

/** Builds the stand-in base images on the builder: debian, node (the app's BASE_IMAGE), services. */
export async function buildBaseImages(env: NodeJS.ProcessEnv, workDir: string): Promise<void> {
  const rootfs = await debianRootfs();
  await run('docker', ['import', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', rootfs, E2E_IMAGES.debian], { env });

  const arch = { x64: 'x64', arm64: 'arm64' }[process.arch as 'x64' | 'arm64'];
  if (!arch) throw new Error(`no node-linux package for ${process.arch}`);
  const nodePackage = await npmPackage(`node-linux-${arch}@22`, `node-linux-${arch}-22.`);
  const npmPackageFile = await npmPackage('npm@10', 'npm-10.');
  const context = path.join(workDir, 'node-base');
  mkdirSync(path.join(context, 'npm'), { recursive: true });
  await run('tar', ['-xzf', nodePackage, '-C', context, '--strip-components=2', 'package/bin/node']);
  await run('tar', ['-xzf', npmPackageFile, '-C', path.join(context, 'npm'), '--strip-components=1']);
  copyFileSync(CA_BUNDLE, path.join(context, 'ca-certificates.crt'));
  await build(env, { context, dockerfile: path.join(IMAGES_DIR, 'node-base', 'Dockerfile'), tag: E2E_IMAGES.node, args: { DEBIAN_IMAGE: E2E_IMAGES.debian } });
  await build(env, {
    context: path.join(IMAGES_DIR, 'services'),
    dockerfile: path.join(IMAGES_DIR, 'services', 'Dockerfile'),
    tag: E2E_IMAGES.services,
    args: { DEBIAN_IMAGE: E2E_IMAGES.debian },
  });
}

export interface BuildArgs {
  context: string;
  dockerfile: string;
  tag: string;
  args?: Record<string, string>;
}

/**
 * `docker build` with the classic builder (Podman's API has no BuildKit), on the host network
 * so that RUN steps reach the npm registry and Debian. Returns the image ID.
 */
export async function build(env: NodeJS.ProcessEnv, args: BuildArgs): Promise<string> {
  const buildArgs = Object.entries(args.args ?? {}).flatMap(([key, value]) => ['--build-arg', `${key}=${value}`]);
  await run('docker', ['build', '--quiet', '--network', 'host', '-f', args.dockerfile, '-t', args.tag, ...buildArgs, args.context], {
    env: { ...env, DOCKER_BUILDKIT: '0' },
  });
  return imageId(env, args.tag);
}

/** Builds an image from a Dockerfile given as text, with an empty context. */
export async function buildFrom(env: NodeJS.ProcessEnv, workDir: string, tag: string, dockerfile: string): Promise<string> {
  const context = mkdtempSync(path.join(workDir, 'derived-'));
  const file = path.join(context, 'Dockerfile');
  writeFileSync(file, dockerfile);
  return build(env, { context, dockerfile: file, tag });
}

const REPO_ROOT = path.join(__dirname, '..', '..', '..');

/** The app image from app/Dockerfile with the repository root as context, as the Deployment builds it. */
export async function buildAppImage(env: NodeJS.ProcessEnv, tag: string): Promise<string> {
  return build(env, { context: REPO_ROOT, dockerfile: path.join(REPO_ROOT, 'app', 'Dockerfile'), tag, args: { BASE_IMAGE: E2E_IMAGES.node } });
}

export async function imageId(env: NodeJS.ProcessEnv, ref: string): Promise<string> {
  return (await run('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], { env })).trim();
}
