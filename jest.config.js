// Three suites: `default` runs anywhere `npm ci` ran; `system` needs Debian packages
// (redis-server, shellcheck, chromium, tmux); `e2e` needs root (netns, sshd, podman).
// .ci/run installs what the last two need and runs them.
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json', diagnostics: false }] };
const common = { preset: undefined, testEnvironment: 'node', transform, moduleFileExtensions: ['ts', 'js', 'json'] };

module.exports = {
  projects: [
    {
      ...common,
      displayName: 'default',
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testPathIgnorePatterns: ['<rootDir>/test/system/', '<rootDir>/test/e2e/'],
    },
    { ...common, displayName: 'system', testMatch: ['<rootDir>/test/system/**/*.test.ts'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
