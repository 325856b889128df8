// ASCII control characters the console code and the user programs name.
// Plain constants, imported by kernel and ring-3 code alike.
import { constant } from '../../toolchain/x86/operands.ts';

export const ASCII_CR = constant('ASCII_CR', 0x0d, 'carriage return: what Enter sends on a terminal');
export const ASCII_LF = constant('ASCII_LF', 0x0a, 'line feed: end of line (from a pipe or a script; what a program reads for Enter)');
export const ASCII_ETX = constant('ASCII_ETX', 0x03, 'Ctrl-C (end of text): stops the user programs instead of being input');
