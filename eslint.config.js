import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'node_modules/**', 'bench/results/**', '.tap/**', 'coverage/**', '.artifacts/**', '.start/**'] }),
  {
    rules: {
      // A TypeBox schema and its `Static<>` type share one name on purpose; tsc still rejects real redeclarations.
      '@typescript-eslint/no-redeclare': 'off'
    }
  }
]
