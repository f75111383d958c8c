/**
 * An htpasswd file for the registry's `auth.htpasswd`, written with bcryptjs instead of
 * Apache's `htpasswd` tool, so that the tests need no package beyond what the demo
 * installs. The distribution registry accepts only bcrypt entries (`$2a$`/`$2b$`/`$2y$`).
 */
import bcrypt from 'bcryptjs';

export interface HtpasswdUser {
  username: string;
  password: string;
}

/** One `user:bcrypt-hash` line per user, newline-terminated. Cost 5 keeps tests fast. */
export async function htpasswdLines(users: readonly HtpasswdUser[], cost = 5): Promise<string> {
  const lines: string[] = [];
  for (const user of users) {
    if (user.username.includes(':') || /[\r\n]/.test(user.username)) {
      throw new Error(`htpasswd: user name ${JSON.stringify(user.username)} cannot hold ':' or a newline`);
    }
    lines.push(`${user.username}:${await bcrypt.hash(user.password, cost)}`);
  }
  return `${lines.join('\n')}\n`;
}
