import AllureVitestReporter, { type AllureVitestReporterConfig } from 'allure-vitest/reporter';
import type { TestModule, Vitest } from 'vitest/node';

/**
 * allure-vitest's reporter, limited to one vitest project. Upstream registers its setup file and its
 * runner in every project and writes a result for every test; only the drill scenarios carry Allure
 * content, so the unit tests keep vitest's own runner and stay out of the results.
 */
export class ProjectAllureReporter extends AllureVitestReporter {
  readonly projectName: string;

  constructor(projectName: string, config: AllureVitestReporterConfig) {
    super(config);
    this.projectName = projectName;
  }

  override onInit(vitest: Vitest): void {
    const projects = vitest.projects.filter((project) => project.name === this.projectName);
    // Upstream reads only `projects`; everything else is the real instance.
    super.onInit(new Proxy(vitest, { get: (target, key) => (key === 'projects' ? projects : Reflect.get(target, key)) }));
  }

  override onTestRunEnd(tests: ReadonlyArray<TestModule>): void {
    super.onTestRunEnd(tests.filter((test) => test.project.name === this.projectName));
  }
}
