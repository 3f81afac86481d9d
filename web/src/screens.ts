/**
 * Every screen of the dashboard: its path, its title, whether it is in the navigation, and how
 * to load it (a dynamic import: each screen is its own chunk, so the overview never loads the
 * others' code). Adding a screen is adding a line here (web/README.md).
 */
import type { ComponentType } from 'preact';

export interface ScreenProps {
  /** The path's parameters (`/projects/:id` → `{ id }`). */
  params: Record<string, string>;
}

export interface Screen {
  path: string;
  title: string;
  /** Shown in the navigation (screens reached from another one are not). */
  nav: boolean;
  /** Shown signed out too (the public price list), in a frame with a sign-in link instead of the navigation. */
  public?: boolean;
  load(): Promise<ComponentType<ScreenProps>>;
}

export const SCREENS: Screen[] = [
  { path: '/', title: 'Overview', nav: true, load: async () => (await import('./screens/overview.screen')).OverviewScreen },
  { path: '/projects', title: 'Projects and keys', nav: true, load: async () => (await import('./screens/projects.screen')).ProjectsScreen },
  { path: '/projects/:id', title: 'Project', nav: false, load: async () => (await import('./screens/project-keys.screen')).ProjectKeysScreen },
  { path: '/usage', title: 'Usage', nav: true, load: async () => (await import('./screens/usage.screen')).UsageScreen },
  { path: '/requests', title: 'Requests', nav: true, load: async () => (await import('./screens/requests.screen')).RequestsScreen },
  { path: '/billing', title: 'Billing', nav: true, load: async () => (await import('./screens/billing.screen')).BillingScreen },
  { path: '/settings', title: 'Settings', nav: true, load: async () => (await import('./screens/settings.screen')).SettingsScreen },
  { path: '/pricing', title: 'Pricing', nav: true, public: true, load: async () => (await import('./screens/pricing.screen')).PricingScreen },
  { path: '/quick-start', title: 'Quick start', nav: true, load: async () => (await import('./screens/quick-start.screen')).QuickStartScreen },
  // Staff only: the navigation links to it for people with a role (components/layout.tsx).
  { path: '/console', title: 'Staff console', nav: false, load: async () => (await import('./screens/console.screen')).ConsoleScreen },
];
