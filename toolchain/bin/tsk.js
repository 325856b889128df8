#!/usr/bin/env node
// Launcher for the tsk CLI: lets Node run the TypeScript sources directly (tsx).
import { register } from 'tsx/esm/api';

register();
await import('../cli.ts');
