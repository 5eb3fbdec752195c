import { test } from 'vitest'
import { runJudge, sandboxInfo, detectLanguages } from '../../src/judge/index.js'
import { sandboxCapabilities } from '../../src/judge/sandbox/probe.js'

test('scratch', async () => {
  const t0 = performance.now()
  console.log(sandboxInfo(), sandboxCapabilities().rejected, sandboxCapabilities().readOnlyMounts, performance.now() - t0)
  console.log(await detectLanguages(), performance.now() - t0)
  const tests = [{ input: '1 2\n', expected: '3\n' }, { input: '5 7\n', expected: '12\n' }]
  const base = { kind: 'judge' as const, id: 'x', priority: 0, timeoutMs: 60000, maxAttempts: 3, requires: { labels: [] }, wait: true, timeLimitMs: 1000, memoryLimitMb: 64, checker: 'tokens' as const, tests }
  const srcs: Record<string, string> = {
    c: '#include <stdio.h>\nint main(){long a,b;scanf("%ld %ld",&a,&b);printf("%ld\\n",a+b);}',
    cpp: '#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a+b<<"\\n";}',
    python3: 'a,b=map(int,input().split())\nprint(a+b)',
    js: 'const [a,b]=require("fs").readFileSync(0,"utf8").trim().split(/\\s+/).map(Number);console.log(a+b)',
  }
  for (const [language, source] of Object.entries(srcs)) {
    const t = performance.now()
    const out = await runJudge({ ...base, language: language as 'c', source })
    console.log(language, JSON.stringify(out), Math.round(performance.now() - t))
  }
}, 60000)
