/** One instruction of a Dockerfile, continuation lines joined. */
export interface Instruction {
  keyword: string
  args: string
}

/** The instructions from one FROM to the next. */
export interface Stage {
  name: string | undefined
  base: string
  instructions: Instruction[]
}

/**
 * Splits a Dockerfile into its stages: enough of the syntax to check what
 * the images are made of (comments, backslash continuations, FROM … AS …),
 * not a full parser.
 */
export function parseDockerfile (text: string): { args: Instruction[], stages: Stage[] } {
  const joined = text.replace(/\\\r?\n(\s*#.*\r?\n)*/g, ' ')
  const instructions = joined.split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/)
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') }
    })

  const args: Instruction[] = []
  const stages: Stage[] = []
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const [base = '', as, name] = instruction.args.split(/\s+/)
      const named = as?.toUpperCase() === 'AS' ? name : undefined
      stages.push({ name: named, base, instructions: [] })
    } else if (stages.length === 0) {
      args.push(instruction)
    } else {
      stages.at(-1)?.instructions.push(instruction)
    }
  }
  return { args, stages }
}

/** The instructions of a stage with a given keyword. */
export function instructionsOf (stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.keyword === keyword)
}
