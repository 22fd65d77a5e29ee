/**
 * nmia-drill configuration, documented with the reference stack's values. Copy it to drill.config.ts
 * (found in the current directory; or pass --config <path>) and keep only what you change.
 * Precedence: command-line flag > environment variable > this file > built-in default.
 * Paths are relative to this file. A drill.config.json takes the same keys.
 */
import { defineConfig } from 'nmia-drill';

export default defineConfig({
  runbook: 'runbook/backup-restore.md', //   --runbook       NMIA_DRILL_RUNBOOK
  // app: '../nmia', //                     --app           NMIA_DRILL_APP        your NMIA repository (default: the built-in reference app)
  stack: 'auto', //                          --stack         NMIA_DRILL_STACK      auto | emulated | compose
  isolation: 'both', //                      --isolation     NMIA_DRILL_ISOLATION  order | alone | both
  scale: 2000, //                            --scale         NMIA_DRILL_SCALE      identities to seed (≥ 10)
  seed: 42, //                               --seed          NMIA_DRILL_SEED
  reportDir: 'reports', //                   --report-dir    NMIA_DRILL_REPORT_DIR
  objectives: {
    rtoSeconds: 900, //                      --rto-target    NMIA_DRILL_RTO_TARGET  disaster → every checklist probe green
    rpoSeconds: 86400, //                    --rpo-target    NMIA_DRILL_RPO_TARGET  acknowledged writes a recovery may lose
  },
  // operator: 'Dana Ops', //               --operator      NMIA_DRILL_OPERATOR   who answers for the drill (default: the CI actor, else the OS user)
  only: [], //                               --only          NMIA_DRILL_ONLY       procedure ids (`nmia-drill list`)
  skip: [], //                               --skip          NMIA_DRILL_SKIP

  // How the DR checklist probes reach and read NMIA. Left out, they use the stack the drill started (its
  // published api and ui ports, the seeded admin) and the real NMIA UI's sign-in form and selectors shown here.
  probes: {
    // Only for an NMIA the drill's stack is reachable as (a remote Docker host, a proxy): with these set the
    // probes go to these addresses instead of the stack's own. Remove api.url, ui.url and admin to probe
    // the stack the drill starts.
    api: { url: 'https://nmia.example.com:8000' },
    ui: {
      url: 'https://nmia.example.com:5173',
      // The real NMIA UI's sign-in form and enclaves table (the defaults); change them for another UI.
      loginPath: '/login',
      enclavesPath: '/enclaves',
      selectors: {
        username: 'input[name="username"]',
        password: 'input[name="password"]',
        submit: 'form button[type="submit"]',
        error: '.MuiAlert-colorError',
        enclaveRow: 'table tbody tr:not(:has(td[colspan])) > td:first-child', // its text the enclave's name
      },
    },
    // The password is never written here (that is a config error): name the environment variable holding it.
    admin: { username: 'admin', passwordEnv: 'NMIA_ADMIN_PASSWORD' },
    // The connector the "test connector scan" item runs (else the first enabled ad_ldap connector).
    scan: { connectorId: '5b0c6f1e-7d3a-4c2e-9a51-2f8e0d4b6c11' },
  },
});
