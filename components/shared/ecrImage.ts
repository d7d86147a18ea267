import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import * as docker from '@pulumi/docker';

export interface EcrImageArgs {
  build: docker.types.input.DockerBuild;
  /** Images the repository keeps, newest first; older ones expire. */
  keepImages: number;
  /** Why that many, in the lifecycle rule's description. */
  keepReason: string;
}

export interface EcrImage {
  repository: aws.ecr.Repository;
  /** Pushed: its repoDigest (repository@sha256:...) changes with every new build. */
  image: docker.Image;
}

/**
 * The bot's image, built and pushed to an ECR repository of its own that scans every push and
 * expires old images. Resources are named `<name>-image` and parented to `parent`.
 */
export function ecrImage(name: string, args: EcrImageArgs, parent: pulumi.Resource): EcrImage {
  const child = { parent };
  const repository = new aws.ecr.Repository(`${name}-image`, { imageTagMutability: 'MUTABLE', forceDelete: true, imageScanningConfiguration: { scanOnPush: true } }, child);
  new aws.ecr.LifecyclePolicy(
    `${name}-image`,
    {
      repository: repository.name,
      policy: JSON.stringify({
        rules: [{ rulePriority: 1, description: args.keepReason, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: args.keepImages }, action: { type: 'expire' } }],
      }),
    },
    child,
  );
  const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, child);
  const image = new docker.Image(
    `${name}-image`,
    {
      build: args.build,
      imageName: pulumi.interpolate`${repository.repositoryUrl}:latest`,
      registry: { server: repository.repositoryUrl, username: token.userName, password: pulumi.secret(token.password) },
    },
    child,
  );
  return { repository, image };
}
