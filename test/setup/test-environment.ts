/**
 * The node environment of every test file. A jest worker (a child process) ends when the jest process that started
 * it is gone, also when that was killed (SIGKILL): the systems and child processes of its tests must not outlive the
 * run. Jest loads this module once per worker, outside the tests' sandbox; in band (no IPC channel) there is no
 * worker.
 */
import { TestEnvironment } from 'jest-environment-node';

if (process.send) process.once('disconnect', () => process.exit(1));

export default TestEnvironment;
