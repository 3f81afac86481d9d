/**
 * An error inside a stream whose 200 has already gone out, written as each provider writes its
 * own mid-stream errors (see each format's streamError in formats/), so the client's official
 * SDK raises it instead of ending quietly.
 */
import { ENDPOINTS, EndpointKind } from '../endpoints';
import { formatOf } from '../formats';
import { ProxyError } from '../http/proxy-error';

export function streamErrorEvent(kind: EndpointKind, err: ProxyError): string {
  return formatOf(ENDPOINTS[kind].format).streamError(err, kind);
}
