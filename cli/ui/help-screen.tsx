/** @jsxRuntime automatic @jsxImportSource react */
// (tsx compiles with the tsconfig of the directory evolve runs in: this file must not depend on it.)
import { Box, Text } from 'ink'

const HELP: [string, string][] = [
  ['↑ / ↓', 'select a migration'],
  ['r', 'run the selected migration in this process (resumes where it stopped)'],
  ['p', 'pause its run on every machine (workers finish their batch and wait)'],
  ['u', 'resume a paused run'],
  ['c', 'cancel its run (asks first; it stays resumable with r)'],
  ['+ / -', 'double / halve the batch size of a run driven here (then fixed)'],
  ['f', 'failed objects of the run, paged from the database; R retries them'],
  ['o', 'turn read-only on (asks for a banner message and how long) or off'],
  ['?', 'this help'],
  ['q, Ctrl-C', 'quit: runs driven here stop after their batch and stay resumable'],
]

export function HelpScreen() {
  return (
    <Box flexDirection="column" paddingX={1}>
      <Text bold>evolve ui — keys</Text>
      <Text> </Text>
      {HELP.map(([k, what]) => (
        <Text key={k}>{`${k.padEnd(11)} ${what}`}</Text>
      ))}
      <Text> </Text>
      <Text>A * after a state marks a run driven by this process. State comes from the database,</Text>
      <Text>so runs driven by other processes and machines show up too.</Text>
      <Text> </Text>
      <Text dimColor>any key: back</Text>
    </Box>
  )
}
