import { HttpStore, type ImageNode } from '../../../image/index.ts';
import { parseFlistUrl } from '../../../image/serve.ts';
import { IMAGE_INITRD, IMAGE_KERNEL, IMAGE_RAW, imageFile } from '../../host/vm/image-files.ts';

/** A machine's image: its pinned digest, the verified read-only tree and how it boots. */
export interface ResolvedFlist {
  ref: string;
  digest: string;
  tree: string;
  boot: 'container' | 'kernel' | 'full';
}

/**
 * The image a zmachine's `flist` URL names, pulled from its HTTP store into the node's one store
 * and materialized (every file's fingerprint verified). Loaded only with a node's first machine.
 */
export async function resolveFlist(images: ImageNode, flist: string): Promise<ResolvedFlist> {
  let where: { store: string; name: string };
  try {
    where = parseFlistUrl(flist);
  } catch (err) {
    throw new Error(`invalid flist: ${(err as Error).message}`);
  }
  const remote = new HttpStore(where.store, { timeoutMs: 30_000 });
  let digest: string;
  try {
    // Pinned by digest from here on: the tag may move on the server while this VM runs.
    digest = (await images.pull(where.name, remote)).digest;
  } catch (err) {
    // A VM restarted while its image server is away boots the copy this node already verified.
    const local = await images.store.getTag(where.name).catch(() => undefined);
    if (!local) throw new Error(`failed to download flist '${flist}': ${(err as Error).message}`);
    digest = local;
  } finally {
    await remote.close();
  }
  // Materializing verifies every file's fingerprint; a tampered file throws naming its path.
  const ref = `blake3:${digest}`;
  const { path } = await images.materialize(ref);
  // As zos, all three are checked (links stay inside the image) before the mode is chosen.
  const [raw, kernel] = await Promise.all([IMAGE_RAW, IMAGE_KERNEL, IMAGE_INITRD].map((f) => imageFile(path, f)));
  const boot = raw ? 'full' : kernel ? 'kernel' : 'container';
  return { ref, digest, tree: path, boot };
}
