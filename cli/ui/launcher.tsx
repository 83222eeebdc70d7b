/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Text, useApp, useInput } from 'ink'
import { useEffect, useState } from 'react'
import { errorMessage } from '../../lib/errors.ts'
import type { UiAdmin } from './admin.ts'
import { App } from './app.tsx'

const RETRY_MS = 3000

/** Opens the admin layer; while the database cannot be reached, says so and tries again. */
export function Launcher(props: { open: () => Promise<UiAdmin>; onOpen: (admin: UiAdmin) => void }) {
  const { exit } = useApp()
  const [admin, setAdmin] = useState<UiAdmin | null>(null)
  const [problem, setProblem] = useState<string | null>(null)
  const [attempt, setAttempt] = useState(0)

  useEffect(() => {
    let live = true
    let timer: NodeJS.Timeout | undefined
    props.open().then(
      (a) => {
        if (!live) return void a.close()
        props.onOpen(a)
        setAdmin(a)
      },
      (err) => {
        if (!live) return
        setProblem(errorMessage(err))
        timer = setTimeout(() => setAttempt((n) => n + 1), RETRY_MS)
      },
    )
    return () => {
      live = false
      clearTimeout(timer)
    }
  }, [attempt])

  useInput((input, key) => (input === 'q' || (key.ctrl && input === 'c')) && exit(), { isActive: admin === null })

  if (admin) return <App admin={admin} />
  return <Text>{problem ? ` ${problem}\n trying again every ${RETRY_MS / 1000} s · q quits` : ' connecting…'}</Text>
}
