import { createMessage, readCleartextMessage, readSignature, verify, type Signature } from 'openpgp';
import { MirrorSignatureError } from './errors.ts';
import type { Keyring } from './keyring.ts';

export interface Signer {
  /** Hex key id of the (sub)key that made the signature. */
  keyId: string;
  /** Fingerprint of the primary key in our keyring that owns that (sub)key. */
  fingerprint: string;
  created: string | undefined;
}

export interface SignatureCheck {
  signers: Signer[];
  /** Signatures made by keys not in the keyring; ignored as apt ignores them, but reported. */
  unknownKeyIds: string[];
}

/**
 * Verify an OpenPGP cleartext-signed document (InRelease) and return the text that the signatures cover.
 * Only that text may be parsed: anything around the signed block is discarded.
 *
 * Accepted when at least one signature is good and made by a key in the keyring, and no signature made
 * by a keyring key is bad (gpgv's rule as apt applies it: unknown signers are ignored, bad ones are fatal).
 */
export async function verifyCleartext(
  armored: string,
  keyring: Keyring,
  url?: string,
): Promise<SignatureCheck & { text: string }> {
  checkCleartextFraming(armored, url);
  let message;
  try {
    message = await readCleartextMessage({ cleartextMessage: armored });
  } catch (cause) {
    throw new MirrorSignatureError('not an OpenPGP cleartext-signed message', { url, cause });
  }
  let result;
  try {
    result = await verify({ message, verificationKeys: [...keyring.keys] });
  } catch (cause) {
    throw new MirrorSignatureError('signature verification failed', { url, cause });
  }
  const check = await judge(result.signatures, keyring, url);
  return { ...check, text: String(result.data) };
}

/** Verify a detached signature (Release.gpg, repomd.xml.asc; armored or binary) over exact bytes. */
export async function verifyDetached(
  data: Uint8Array,
  signatureBytes: Uint8Array,
  keyring: Keyring,
  url?: string,
): Promise<SignatureCheck> {
  let signature: Signature;
  try {
    const head = Buffer.from(signatureBytes.subarray(0, 64)).toString('latin1');
    signature = head.includes('-----BEGIN PGP SIGNATURE-----')
      ? await readSignature({ armoredSignature: Buffer.from(signatureBytes).toString('utf8') })
      : await readSignature({ binarySignature: signatureBytes });
  } catch (cause) {
    throw new MirrorSignatureError('cannot parse the detached signature', { url, cause });
  }
  let result;
  try {
    const message = await createMessage({ binary: data });
    result = await verify({ message, signature, verificationKeys: [...keyring.keys] });
  } catch (cause) {
    throw new MirrorSignatureError('signature verification failed', { url, cause });
  }
  return judge(result.signatures, keyring, url);
}

const BEGIN_SIGNED = '-----BEGIN PGP SIGNED MESSAGE-----';
const END_SIGNATURE = '-----END PGP SIGNATURE-----';

/**
 * openpgp skips text before and after the signed block; apt refuses such files (unsigned data smuggled
 * next to a good signature), and so do we.
 */
function checkCleartextFraming(armored: string, url: string | undefined): void {
  const begin = armored.indexOf(BEGIN_SIGNED);
  const end = armored.lastIndexOf(END_SIGNATURE);
  if (begin < 0 || end < 0)
    throw new MirrorSignatureError('not an OpenPGP cleartext-signed message', { url });
  if (armored.slice(0, begin).trim() !== '' || armored.slice(end + END_SIGNATURE.length).trim() !== '') {
    throw new MirrorSignatureError('data outside the signed block', { url });
  }
  if (armored.indexOf(BEGIN_SIGNED, begin + 1) >= 0) {
    throw new MirrorSignatureError('more than one signed block', { url });
  }
}

type VerificationResult = Awaited<ReturnType<typeof verify>>['signatures'][number];

async function judge(
  signatures: VerificationResult[],
  keyring: Keyring,
  url: string | undefined,
): Promise<SignatureCheck> {
  if (signatures.length === 0) throw new MirrorSignatureError('no signatures', { url });
  const signers: Signer[] = [];
  const unknownKeyIds: string[] = [];
  const bad: Array<{ keyId: string; cause: unknown }> = [];
  for (const s of signatures) {
    const keyId = s.keyID.toHex();
    // Decide "unknown signer" from our own keyring, not from openpgp's error text.
    const owner = keyring.keys.find((k) => k.getKeys(s.keyID).length > 0);
    if (!owner) {
      unknownKeyIds.push(keyId);
      // Settle the promise so it never surfaces as an unhandled rejection.
      await s.verified.catch(() => undefined);
      continue;
    }
    try {
      await s.verified;
      const packet = (await s.signature).packets[0];
      signers.push({
        keyId,
        fingerprint: owner.getFingerprint().toUpperCase(),
        created: packet?.created ? packet.created.toISOString() : undefined,
      });
    } catch (cause) {
      bad.push({ keyId, cause });
    }
  }
  if (bad.length > 0) {
    throw new MirrorSignatureError(`bad signature by key ${bad.map((b) => b.keyId).join(', ')}`, {
      url,
      cause: bad[0]?.cause,
    });
  }
  if (signers.length === 0) {
    throw new MirrorSignatureError(`no signature by a trusted key (signed by ${unknownKeyIds.join(', ')})`, {
      url,
    });
  }
  return { signers, unknownKeyIds };
}

/** The text of a cleartext-signed message without checking anything; for `insecure` mirrors only. */
export async function unverifiedCleartext(armored: string): Promise<string | undefined> {
  if (!armored.includes('-----BEGIN PGP SIGNED MESSAGE-----')) return undefined;
  try {
    const message = await readCleartextMessage({ cleartextMessage: armored });
    return message.getText();
  } catch {
    return undefined;
  }
}
