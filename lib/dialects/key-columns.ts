import type { KeyColumns } from './dialect.ts'

/** The key's columns, and a key value's parts in the same order. */
export const columnsOf = (key: KeyColumns): string[] => (typeof key === 'string' ? [key] : key)
export const partsOf = (key: KeyColumns, value: unknown): unknown[] => (typeof key === 'string' ? [value] : (value as unknown[]))
