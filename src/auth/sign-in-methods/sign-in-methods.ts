/**
 * Which ways of signing in this deployment offers, as the sign-in screen needs to know them:
 * read from config (and whether mail can leave at all), never a secret. A provider's start URL
 * is the path of its /start route on this origin, which the browser opens as a whole page.
 */
import { z } from 'zod';
import { AppConfig } from '../../config/config';
import { MailTransportKind } from '../../platform/mail/mailer';
import { OAuthSettings, configuredProviders } from '../oauth/oauth-providers';

export const signInMethodsSchema = z.object({
  magicLink: z.boolean().describe('POST /auth/magic-link can mail a link (false in production without SMTP_URL)'),
  passkey: z.boolean().describe('/auth/passkeys/login/… (always on; the browser decides whether it can)'),
  password: z.boolean().describe('POST /auth/login (AUTH_PASSWORDS=true)'),
  passwordSignUp: z.boolean().describe('POST /auth/signup: passwords on and mail can be sent (sign-up mails a link)'),
  providers: z.array(
    z.object({
      id: z.string().describe('google, github, or an OIDC_PROVIDERS name'),
      name: z.string().describe('what the button says'),
      startUrl: z.string().describe('a path on this origin: open it as a page, not with fetch'),
    }),
  ),
});
export type SignInMethods = z.infer<typeof signInMethodsSchema>;

export function signInMethods(config: OAuthSettings & Pick<AppConfig, 'AUTH_PASSWORDS'>, mail: MailTransportKind): SignInMethods {
  const canMail = mail !== 'none';
  return {
    magicLink: canMail,
    passkey: true,
    password: config.AUTH_PASSWORDS,
    passwordSignUp: config.AUTH_PASSWORDS && canMail,
    providers: [...configuredProviders(config).values()].map((p) => ({
      id: p.name,
      name: p.displayName,
      startUrl: `/auth/oauth/${encodeURIComponent(p.name)}/start`,
    })),
  };
}
