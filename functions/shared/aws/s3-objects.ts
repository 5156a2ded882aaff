/**
 * Writes to the backup bucket. The bucket enforces SSE-KMS and Object Lock by default; every put
 * carries a SHA-256 checksum, which S3 verifies on arrival and Object Lock buckets require.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

/** The only part of an S3 client used, so tests can pass a moto or a mocked client. */
export type S3Api = Pick<S3Client, 'send'>;

/** S3 takes checksums in base64; manifests keep them in hex. */
export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** Puts one object with a SHA-256 checksum (given, so S3 verifies it; or computed by the SDK). */
export async function putObject(
  s3: S3Api,
  bucket: string,
  key: string,
  body: Uint8Array | string,
  { contentType, sha256Hex }: { contentType: string; sha256Hex?: string },
): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: body,
      ContentType: contentType,
      // Object Lock buckets refuse puts without a checksum; a known SHA-256 makes S3 verify our bytes.
      ChecksumAlgorithm: 'SHA256',
      ...(sha256Hex ? { ChecksumSHA256: hexToBase64(sha256Hex) } : {}),
    }),
  );
}

/** Puts a JSON document, indented so an auditor can read it in the console. */
export async function putJson(s3: S3Api, bucket: string, key: string, value: unknown): Promise<void> {
  await putObject(s3, bucket, key, `${JSON.stringify(value, null, 2)}\n`, {
    contentType: 'application/json',
  });
}

/**
 * True when the object exists. Asks by listing the exact key rather than HeadObject: a HEAD of a
 * missing key answers 403, not 404, unless the role may list the whole bucket, and the stack lets
 * the functions list only their own prefix.
 */
export async function objectExists(s3: S3Api, bucket: string, key: string): Promise<boolean> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: key, MaxKeys: 1 }));
  return out.Contents?.[0]?.Key === key;
}

/** The object parsed as JSON, or undefined when it does not exist. */
export async function getJson(s3: S3Api, bucket: string, key: string): Promise<unknown> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const text = (await out.Body?.transformToString('utf8')) ?? '';
    return JSON.parse(text);
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404)
      return undefined;
    throw error;
  }
}
