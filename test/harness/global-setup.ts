// Build the image once, before any test worker starts, so parallel boot tests
// all boot the same build/tsk.img and read the same build/tsk.map.
import { buildImage } from '../../toolchain/image.ts';

export default async function setup(): Promise<void> {
  await buildImage();
}
