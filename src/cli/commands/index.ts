import { inspectCommand } from './inspect.js';
import { mirrorCommand } from './mirror.js';
import { packCommand } from './pack.js';
import { planCommand } from './plan.js';
import { snapshotCommand } from './snapshot.js';
import type { Command } from './types.js';
import { unpackCommand } from './unpack.js';
import { verifyCommand } from './verify.js';
import { verifySignatureCommand } from './verify-signature.js';

export const commands: Command[] = [
  packCommand,
  verifyCommand,
  inspectCommand,
  unpackCommand,
  verifySignatureCommand,
  snapshotCommand,
  planCommand,
  mirrorCommand,
];
