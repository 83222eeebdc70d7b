/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, Text, useInput } from 'ink'
import { useEffect, useState } from 'react'
import type { FailedObject } from '../../lib/index.ts'
import { errorMessage } from '../../lib/errors.ts'
import type { UiAdmin } from './admin.ts'
import { fit } from './look.ts'

/**
 * A run's failed objects, one page at a time from the database (keyed paging: `after` is the
 * last key of the page before). ↑/↓ move, →/n next page, ←/b previous, R retries them all.
 */
export function FailuresView(props: { admin: UiAdmin; name: string; width: number; height: number; onClose: () => void }) {
  const { admin, name, width, height, onClose } = props
  const pageSize = Math.max(3, height - 5)
  // The `after` key of each page seen so far: the last entry is the current page's.
  const [afters, setAfters] = useState<unknown[]>([undefined])
  const [page, setPage] = useState<FailedObject[] | null>(null)
  const [cursor, setCursor] = useState(0)
  const [notice, setNotice] = useState<string | null>(null)
  const after = afters[afters.length - 1]

  useEffect(() => {
    let live = true
    setPage(null)
    admin.failures(name, { limit: pageSize, after }).then(
      (rows) => live && (setPage(rows), setCursor(0)),
      (err) => live && (setPage([]), setNotice(errorMessage(err))),
    )
    return () => {
      live = false
    }
  }, [admin, name, pageSize, after])

  useInput((input, key) => {
    if (key.escape || input === 'f' || input === 'q') onClose()
    else if (key.upArrow) setCursor((c) => Math.max(0, c - 1))
    else if (key.downArrow) setCursor((c) => Math.min((page?.length ?? 1) - 1, c + 1))
    else if ((key.rightArrow || input === 'n') && page && page.length === pageSize) setAfters((a) => [...a, page[page.length - 1]!.key])
    else if ((key.leftArrow || input === 'b') && afters.length > 1) setAfters((a) => a.slice(0, -1))
    else if (input === 'R') {
      setNotice(`retrying the failed objects of ${name}…`)
      admin.retry(name).then(
        () => setNotice(`retry of ${name} started in this process`),
        (err) => setNotice(errorMessage(err)),
      )
    }
  })

  const keyWidth = Math.min(24, Math.max(8, Math.floor(width / 4)))
  return (
    <Box flexDirection="column">
      <Text bold>{` failures of ${name} · page ${afters.length}`}</Text>
      <Text bold>{`   ${fit('KEY', keyWidth)} ${fit('TRIES', 5)} ERROR`}</Text>
      {page === null ? (
        <Text dimColor> loading…</Text>
      ) : page.length === 0 ? (
        <Text> {afters.length > 1 ? 'no more failed objects' : 'no failed objects'}</Text>
      ) : (
        page.map((f, i) => (
          <Text key={i} inverse={i === cursor}>
            {`${i === cursor ? ' ❯ ' : '   '}${fit(JSON.stringify(f.key), keyWidth)} ${fit(String(f.attempts), 5)} ${fit(f.error, width - keyWidth - 11)}`}
          </Text>
        ))
      )}
      <Text> {notice ?? ''}</Text>
      <Text dimColor>{' ' + fit('↑↓ move  ←/b → /n page  R retry all  esc back', width - 2)}</Text>
    </Box>
  )
}
