import { ContextModules } from '../shared/context-modules';

/** Mail as operators see it: `tollgate mail outbox` (the mailer itself is platform/mail). */
export const MAIL_CONTEXT: ContextModules = {
  name: 'mail',
  cli: async () => (await import('./cli/mail-cli.module')).MailCliModule,
};
