/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, Text, useInput } from 'ink'
import { useEffect, useState } from 'react'
import type { FailedObject } from '../../lib/index.ts'
import { errorMessage } from '../../lib/errors.ts'
import { keyText } from '../../lib/api/key-shape.ts'
import type { UiAdmin, UiEvent } from './admin.ts'
import { describeEvent } from './describe-event.ts'
import { fit } from './look.ts'

/**
 * A run's failed objects, one page at a time from the database (keyed paging: `after` is the
 * last key of the page before). ↑/↓ move, →/n next page, ←/b previous, R retries them all.
 */
export function FailuresView(props: {
  admin: UiAdmin
  name: string
  /** The run's failed count as the dashboard last read it: the page is read again when it changes. */
  failed: number
  width: number
  height: number
  onClose: () => void
}) {
  const { admin, name, failed, width, height, onClose } = props
  const pageSize = Math.max(3, height - 5)
  // The `after` key of each page seen so far: the last entry is the current page's.
  const [afters, setAfters] = useState<unknown[]>([undefined])
  const [page, setPage] = useState<FailedObject[] | null>(null)
  const [cursor, setCursor] = useState(0)
  const [notice, setNotice] = useState<string | null>(null)
  const after = afters[afters.length - 1]
  // Bumped when a retry driven here ends: the page it left behind is stale.
  const [reads, setReads] = useState(0)

  useEffect(() => {
    const ended = (e: UiEvent) => {
      if (e.name !== 'local:end' || e.data.run !== name) return
      setNotice(`${name}: ${describeEvent(e)}`)
      setReads((n) => n + 1)
    }
    admin.events.on('event', ended)
    return () => {
      admin.events.off('event', ended)
    }
  }, [admin, name])

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
  }, [admin, name, pageSize, after, failed, reads])

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

  const keys = (page ?? []).map((f) => keyText(f.key))
  // Keys as wide as the page's longest, leaving the error at least a third of the line.
  const keyWidth = Math.max(8, Math.min(Math.max(3, ...keys.map((k) => k.length)), width - 11 - Math.floor(width / 3)))
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
            {`${i === cursor ? ' ❯ ' : '   '}${fitKey(keys[i]!, keyWidth)} ${fit(String(f.attempts), 5)} ${fit(f.error, width - keyWidth - 11)}`}
          </Text>
        ))
      )}
      <Text> {notice ?? ''}</Text>
      <Text dimColor>{' ' + fit('↑↓ move  ←/b → /n page  R retry all  esc back', width - 2)}</Text>
    </Box>
  )
}

/** A key cut to `width` keeping its end: composite keys often differ only there (`["0000…0001",3]`). */
function fitKey(text: string, width: number): string {
  if (text.length <= width) return text.padEnd(width)
  const head = Math.floor((width - 1) / 3)
  return `${text.slice(0, head)}…${text.slice(text.length - (width - 1 - head))}`
}
