// Build the image once, before any test worker starts, so parallel boot tests
// all boot the same build/tsk.img and read the same build/tsk.map.  Failed
// boots of an earlier run leave folders in build/test-artifacts/: they go
// first, so that what is there after this run is this run's.
import { rm } from 'node:fs/promises';
import { buildImage } from '../../toolchain/image.ts';
import { artifactsRoot } from './artifacts.ts';

export default async function setup(): Promise<void> {
  await rm(artifactsRoot(), { recursive: true, force: true });
  await buildImage();
}
