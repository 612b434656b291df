// Child process for the queue crash test: enqueue, take the job as a worker would, then die
// by SIGKILL before calling done(). argv[2] is the database path.
import { JobQueue } from '../../../node/engine/queue.ts';
import { EngineDb } from '../../../node/engine/store-db.ts';

const db = EngineDb.open(process.argv[2]!);
const queue = new JobQueue(db);
queue.enqueue({ op: 'provision', twin: 5, contract: 50, payload: { hello: 'world' }, message: 'from child' });
const job = await queue.next(new AbortController().signal);
process.stdout.write(`took ${job.id}\n`);
process.kill(process.pid, 'SIGKILL');
