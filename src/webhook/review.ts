// One ConversionReview (apiextensions.k8s.io/v1) in, its answer out: pure, so every malformed
// shape is unit-tested. A review we can answer (it has a request uid) gets a `Failure` result with
// a message saying which object and why; one we cannot answer gets a 400 with the reason.
import { KIND_OF_CRD, convertObject, servedVersion } from '../crd/conversion.ts';
import { isRecord } from '../util/is-record.ts';

const REVIEW_API_VERSION = 'apiextensions.k8s.io/v1';

export type ReviewAnswer =
  | { status: 200; body: ConversionReviewResponse }
  | { status: 400 | 404; message: string };

export interface ConversionReviewResponse {
  apiVersion: typeof REVIEW_API_VERSION;
  kind: 'ConversionReview';
  response: { uid: string; convertedObjects: unknown[]; result: { status: 'Success' } | { status: 'Failure'; message: string } };
}

function failure(uid: string, message: string): ReviewAnswer {
  return { status: 200, body: { apiVersion: REVIEW_API_VERSION, kind: 'ConversionReview', response: { uid, convertedObjects: [], result: { status: 'Failure', message } } } };
}

/** Answers the review `body` (already parsed JSON) sent to /convert/<crdName>. */
export function answerConversionReview(crdName: string, body: unknown): ReviewAnswer {
  const kind = KIND_OF_CRD[crdName];
  if (kind === undefined) return { status: 404, message: `no CRD ${JSON.stringify(crdName)} is converted here (known: ${Object.keys(KIND_OF_CRD).join(', ')})` };
  if (!isRecord(body)) return { status: 400, message: 'the body is not a JSON object' };
  if (body.kind !== 'ConversionReview' || body.apiVersion !== REVIEW_API_VERSION) {
    return { status: 400, message: `expected a ConversionReview of ${REVIEW_API_VERSION}, got kind ${JSON.stringify(body.kind)} of apiVersion ${JSON.stringify(body.apiVersion)}` };
  }
  const request = body.request;
  if (!isRecord(request)) return { status: 400, message: 'the ConversionReview has no request' };
  const uid = request.uid;
  if (typeof uid !== 'string' || uid === '') return { status: 400, message: 'the ConversionReview request has no uid' };
  const desired = servedVersion(request.desiredAPIVersion);
  if (!desired.ok) return failure(uid, `desiredAPIVersion ${desired.error.replace(/^has (apiVersion|the version) /, '')}`);
  if (!Array.isArray(request.objects)) return failure(uid, 'the request has no list of objects');
  const converted: unknown[] = [];
  for (const obj of request.objects) {
    const r = convertObject(kind, obj, desired.version);
    if (!r.ok) return failure(uid, r.error);
    converted.push(r.object);
  }
  return { status: 200, body: { apiVersion: REVIEW_API_VERSION, kind: 'ConversionReview', response: { uid, convertedObjects: converted, result: { status: 'Success' } } } };
}
