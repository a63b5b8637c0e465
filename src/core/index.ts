/**
 * berth's core: the curated public surface for src/k8s, src/tui and src/cli. Everything not
 * re-exported here is internal to the core.
 */
export * from "./errors.ts";
export * from "./progress.ts";
export * from "./oci/ref.ts";
export * from "./oci/digest.ts";
export * from "./oci/media-types.ts";
export * from "./oci/manifest.ts";
export * from "./content/store.ts";
export { MemoryStore } from "./content/memory-store.ts";
export { LayoutStore } from "./content/layout-store.ts";
export { copy, copyGraph, type CopyOptions, type CopyResult } from "./artifact/copy.ts";
export { buildArtifactArchive, type BuildOptions, type BuildResult } from "./artifact/build.ts";
export { pushArtifact, type PushArtifactOptions, type PushArtifactResult } from "./artifact/push.ts";
export { pullArtifact, type PullArtifactOptions, type PullArtifactResult, type LayerOperation } from "./artifact/pull.ts";
export { tagArtifact } from "./artifact/tag.ts";
export { listArtifacts, type ArtifactRow, type ListArtifactsOptions } from "./artifact/list.ts";
export { diffArtifacts, type ArtifactDiff, type DiffInput } from "./artifact/diff.ts";
export { resolveRef, type OCIRepositoryRef, type RefResolution } from "./artifact/resolve.ts";
export { fetchImageManifest, selectLayer, type FetchedManifest } from "./artifact/manifests.ts";
export { toAnnotations, fromAnnotations, type Metadata } from "./artifact/metadata.ts";
export { packArtifact, type PackOptions, type ConfigProfile, type MediaTypeProfile } from "./artifact/pack.ts";
export { extractTarGz, readTarEntries, type ExtractOptions, type ExtractResult } from "./archive/extract.ts";
export { DEFAULT_IGNORE_PATHS } from "./archive/ignore.ts";
export {
  createRegistryClient,
  createDockerConfigProvider,
  parseCredsFlag,
  proxyFromEnv,
  staticCredentials,
  type RegistryClient,
  type RegistryClientOptions,
  type RegistryRepository,
  type Credential,
  type CredentialProvider,
  type RepositoryName,
} from "./registry/index.ts";
export { resolveTag, filterTagsForList, sortTags, isSignatureOrReferrerTag, type ResolveResult } from "./semver/index.ts";
export { diffTrees, dirTreeReader, renderTreeDiff, type TreeDiff, type TreeReader } from "./diff/index.ts";
// Cosign-compatible signing and verification (sign/index.ts is its public surface).
export * from "./sign/index.ts";
// Registry tokens from cloud identities (ECR, ACR, GCP): the controller's `provider` and the CLI's `--provider`.
export {
  CLOUD_EXCHANGES,
  CloudTokenCache,
  type CloudContext,
  type CloudEndpoints,
  type CloudExchange,
  type CloudProviderName,
  type CloudToken,
  type CloudTokenCacheOptions,
} from "./registry/cloud/index.ts";
export { cloudCredentials, type CloudCredentialsOptions } from "./registry/cloud/provider.ts";
export { pause } from "./timers.ts";
// npm undici's HTTP client, loaded module by module (Bun's built-in copy ignores custom CAs): for the Kubernetes client.
export { Agent as HttpAgent, request as httpRequest, type Dispatcher as HttpDispatcher, type RequestOptions as HttpRequestOptions } from "./registry/undici.ts";
export { parseGoDuration } from "./duration.ts";
