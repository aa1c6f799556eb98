export {
  ConfigError,
  loadConfig,
  loadSecrets,
  parseConfig,
  requireSecrets,
  type ConfigResult,
  type Env,
  type ReadFile,
  type SecretsResult,
} from './load';
export { branchMatches, globToRegExp } from './match';
export { describeIssue, formatIssues, formatPath } from './problems';
export {
  configSchema,
  DEFAULT_DISK_SIZE_GB,
  DEFAULT_STARTUP_SCRIPT,
  MIN_DISK_SIZE_GB,
  OS_TYPES,
  PLATFORM_NAME,
  platformSchema,
  REPOSITORY,
  filesBucket,
  hasExternalIp,
  isPublicRepository,
  prCommentEnabled,
  schedulerServiceAccount,
  RESERVED_LABEL_PREFIX,
  SUPERSEDE_MODES,
  ZONE,
  type FilesConfig,
  type OsType,
  type PlatformConfig,
  type QueueConfig,
  type SupersedeMode,
  type SweepsConfig,
  type VmciConfig,
} from './schema';
export {
  ALL_SECRETS,
  secretsSchema,
  secretsSchemaFor,
  secretValues,
  type GitHubAuth,
  type SecretName,
  type Secrets,
} from './secrets';
export {
  FUNCTION_NAMES,
  FUNCTION_PLACEHOLDER,
  functionUrl,
  functionUrlOf,
  type FunctionName,
} from './urls';
