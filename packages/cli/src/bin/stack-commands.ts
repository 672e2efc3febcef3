import type { Command } from 'commander';

/** `demo` and `dev` start the whole local stack; filled in once the stack module lands. */
export function registerStackCommands(_program: Command): void {}
