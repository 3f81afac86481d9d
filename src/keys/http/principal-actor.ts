import { Principal } from '../../auth/http/principal';

/** Who did it, for the events' metadata: the person, and the management key when one was used. */
export const actorOf = (p: Principal): string => (p.managementKeyId ? `user:${p.userId}/mgmtkey:${p.managementKeyId}` : `user:${p.userId}`);
