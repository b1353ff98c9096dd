// Lint rules: typescript-eslint's recommended set, run on sources only (dist is compiled
// output), plus the layering between components (upstream guards the same with
// import-restrictions): components never import the CLI or the composition folders
// (server/, agent/), and the API server imports no component that is its client.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Config entries forbidding files under `folders` (globs of top-level folders) to import
 * the top-level folders `forbidden`. Paths are relative, so each depth gets the prefix
 * that climbs back to the root (kubelet/server/ is not server/).
 */
function layer(folders, forbidden) {
  return [1, 2, 3].map((depth) => ({
    files: folders.map((f) => `${f}/${'*/'.repeat(depth - 1)}*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: forbidden.map((f) => ({
            group: [`${'../'.repeat(depth)}${f}/*`, `${'../'.repeat(depth)}${f}/**`],
            message: `this folder may not import ${f}/ (component layering: see eslint.config.js)`,
          })),
        },
      ],
    },
  }));
}

const COMPOSITION = ['cli', 'server', 'agent'];
const NODE_COMPONENTS = ['kubelet', 'proxy', 'dns', 'ingress', 'netpol'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '**/*.js', '!eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // Shared machinery and the store stand on nothing else.
  ...layer(['machinery'], ['apiserver', 'store', 'client', 'controllers', 'scheduler', ...NODE_COMPONENTS, ...COMPOSITION]),
  ...layer(['store'], ['apiserver', 'client', 'controllers', 'scheduler', ...NODE_COMPONENTS, ...COMPOSITION]),
  // The API server serves its clients; it never imports them.
  ...layer(['apiserver'], ['client', 'controllers', 'scheduler', ...NODE_COMPONENTS, ...COMPOSITION]),
  // API clients: the client layer, controllers, scheduler and node components.
  ...layer(['client'], ['controllers', 'scheduler', ...NODE_COMPONENTS, ...COMPOSITION]),
  ...layer(['controllers', 'scheduler'], [...NODE_COMPONENTS, ...COMPOSITION]),
  ...layer(['kubelet'], ['scheduler', 'proxy', 'dns', 'ingress', 'netpol', ...COMPOSITION]),
  ...layer(['proxy', 'dns', 'ingress', 'netpol'], ['controllers', 'scheduler', 'kubelet', ...COMPOSITION]),
  // A node's assembly never reaches into the control plane's.
  ...layer(['agent'], ['server', 'cli']),
  ...layer(['server'], ['agent', 'cli']),
);
