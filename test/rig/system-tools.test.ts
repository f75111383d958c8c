import { describe, expect, it } from 'vitest';
import { TEST_TOOLS, ensureTools, installCommand, missingTools } from '../../fixtures/system-tools.js';

const ABSENT = { command: 'bale-no-such-tool-7f3a', aptPackage: 'bale-no-such-package' };

describe('system tools the demo and the tests need', () => {
  it('this machine has them all (the global set-up made sure)', () => {
    expect(missingTools(TEST_TOOLS)).toEqual([]);
  });

  it('names a missing tool and, without root, the exact sudo install command; nothing is run', () => {
    const lines: string[] = [];
    const r = ensureTools([TEST_TOOLS[1]!, ABSENT], { isRoot: false, log: (l) => lines.push(l) });
    expect(r.missing).toEqual([ABSENT]);
    expect(r.command).toBe('sudo apt-get update && sudo apt-get install -y bale-no-such-package');
    expect(lines).toEqual([]);
  });

  it('with installing turned off, installs nothing even as root', () => {
    const lines: string[] = [];
    const r = ensureTools([ABSENT], { isRoot: true, allowInstall: false, log: (l) => lines.push(l) });
    expect(r.missing).toEqual([ABSENT]);
    expect(r.command).toBe('apt-get update && apt-get install -y bale-no-such-package');
    expect(lines).toEqual([]);
  });

  it('lists each Debian package once', () => {
    expect(installCommand([...TEST_TOOLS, ...TEST_TOOLS], false)).toBe(
      'apt-get update && apt-get install -y docker-registry skopeo zstd openssl',
    );
  });
});
