/** An email address as the sign-in routes accept it: surrounding spaces dropped (people paste them), at most 254 characters. */
import { z } from 'zod';

export const emailField = z.string({ error: 'must be an email address' }).trim().pipe(z.email({ error: 'must be an email address' }).max(254));
