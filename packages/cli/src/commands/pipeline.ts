import { Option, type Command } from 'commander';
import { PIPELINE_EXECUTORS, PIPELINE_RUN_STATUSES } from '@cairn/contract';
import { lazy } from './lazy.js';

const running = () => import('./pipeline-run.js');
const runs = () => import('./pipeline-runs.js');
const schedules = () => import('./pipeline-schedule.js');

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Text after a command's options: paragraphs, a blank line before each. */
const after = (...paragraphs: string[]): string => paragraphs.map((p) => `\n${p}`).join('\n');
const examples = (...lines: string[]): string => `Examples:\n${lines.map((l) => `  ${l}`).join('\n')}`;

const FILES =
  'FILE is YAML (.yaml, .yml), JSON, JavaScript (.js, .mjs: the default export, or an export named\n' +
  'pipeline, built with pipeline() from @cairn/sdk) or TypeScript (.ts, .mts, loaded with the tsx\n' +
  'installed beside it). Its folder, less the file itself, is the code the steps run in; list what\n' +
  'they do not need (data, outputs) in a .cairnignore there, one glob per line.';

const FOLLOW =
  'Until the run ends a table of its steps is redrawn on a terminal (a line per change otherwise);\n' +
  'the exit code is 0 only when it succeeded. Ctrl-C cancels the run and waits for it to end; a\n' +
  'second Ctrl-C stops waiting at once.';

const SUMMARY_JSON = 'print {"run","status","steps":[{"name","status","cached"}]} once the run has ended';

/** `cairn pipeline …`: pipelines of steps. Definitions only; each action loads its code when run. */
export function registerPipelineCommands(program: Command): void {
  const group = program
    .command('pipeline')
    .alias('pipelines')
    .description('Run pipelines of steps: cached, retried, fanned out with foreach, resumable')
    .addHelpText(
      'after',
      after(
        'A pipeline is a file of named steps; each runs a command with inputs from earlier steps,\n' +
          'datasets or parameters, and leaves outputs. A step whose code, inputs and parameters are\n' +
          'unchanged reuses its earlier result.',
        examples(
          'cairn pipeline validate pipeline.yaml',
          'cairn pipeline run pipeline.yaml --param epochs=20',
          'cairn pipeline runs ls --status failed',
          'cairn pipeline output pr_1a2b3c4d train.model -o model.onnx',
          'cairn pipeline schedule pipeline.yaml --cron "0 3 * * *" --timezone Europe/Paris',
        ),
      ),
    );

  group
    .command('run')
    .argument('<file>', 'the pipeline file')
    .description('Validate a pipeline file, upload its folder as code, start a run and follow it to its end')
    .option(
      '--param <name=value>',
      'override a parameter (repeatable); VALUE is read as JSON when it parses (10, true, [1,2], "007"), else as text',
      collect,
    )
    .addOption(
      new Option(
        '--executor <name>',
        "who runs the steps: the server itself or queue workers (default: the server's)",
      ).choices(PIPELINE_EXECUTORS),
    )
    .option('--no-cache', 'run every step, reusing no earlier result')
    .option('--project <id>', 'the project the run belongs to (default: default)')
    .option('--detach', 'print the run id and exit without waiting (with --json: the started run)')
    .option('--json', SUMMARY_JSON)
    .addHelpText(
      'after',
      after(
        FILES,
        FOLLOW,
        examples(
          'cairn pipeline run pipeline.yaml',
          "cairn pipeline run pipeline.yaml --param epochs=20 --param layers='[64, 32]'",
          'cairn pipeline run pipeline.ts --no-cache --executor queue',
          'RUN=$(cairn pipeline run pipeline.yaml --detach)',
        ),
      ),
    )
    .action(lazy(async () => (await running()).runCommand));

  group
    .command('validate')
    .argument('<file>', 'the pipeline file')
    .description(
      'Check a pipeline file without a server: every problem, by step and field, or the step order',
    )
    .option('--json', 'print {"valid","problems":[{"step","field","message"}],"steps":[names in order]}')
    .addHelpText(
      'after',
      after(
        FILES,
        examples('cairn pipeline validate pipeline.yaml', 'cairn pipeline validate pipeline.js --json'),
      ),
    )
    .action(lazy(async () => (await running()).validateCommand));

  group
    .command('output')
    .argument('<run>', 'pipeline run id')
    .argument('<step.output>', 'STEP.OUTPUT, e.g. train.model; scale[3].out for one item of a foreach step')
    .description("Write a step's output to a file or folder (a file output goes to stdout without -o)")
    .option(
      '-o, --output <path>',
      'where to write it: a file output to PATH (or inside PATH when it is a folder), a directory output under PATH/',
    )
    .option('--json', 'print {"path","type","files","sizeBytes"} (needs -o)')
    .addHelpText(
      'after',
      after(
        "A foreach step's output (STEP without [i]) is a directory with an entry per item: 00000, 00001, …",
        examples(
          'cairn pipeline output pr_1a2b3c4d train.model -o model.onnx',
          'cairn pipeline output pr_1a2b3c4d scale.doubled -o doubled/',
          'cairn pipeline output pr_1a2b3c4d scale[3].doubled | head',
        ),
      ),
    )
    .action(lazy(async () => (await running()).outputCommand));

  registerScheduleCommands(group);

  const runsGroup = group
    .command('runs')
    .description('List, inspect, resume and cancel pipeline runs')
    .addHelpText(
      'after',
      after(
        examples(
          'cairn pipeline runs ls',
          'cairn pipeline runs show pr_1a2b3c4d',
          'cairn pipeline runs resume pr_1a2b3c4d',
        ),
      ),
    );

  runsGroup
    .command('ls')
    .alias('list')
    .description('List pipeline runs, newest first: status, steps done, cached, when, how long')
    .option('--project <id>', 'only runs of this project')
    .option('--pipeline <name>', 'only runs of this pipeline')
    .addOption(new Option('--status <status>', 'only runs in this status').choices(PIPELINE_RUN_STATUSES))
    .option('--limit <n>', "how many at most (default: the server's)")
    .option('--page-token <token>', 'continue from where an earlier listing stopped')
    .option('--json', 'print {"runs":[…],"nextPageToken"}')
    .addHelpText(
      'after',
      after(
        examples(
          'cairn pipeline runs ls',
          'cairn pipeline runs ls --pipeline churn --status failed --limit 5',
        ),
      ),
    )
    .action(lazy(async () => (await runs()).listRunsCommand));

  runsGroup
    .command('show')
    .argument('<run>', 'pipeline run id')
    .description('Show a run and its steps: status, cached or reused from, reason, attempt, exit code, error')
    .option('--json', 'print the run with every step run as JSON')
    .addHelpText(
      'after',
      after(examples('cairn pipeline runs show pr_1a2b3c4d', 'cairn pipeline runs show pr_1a2b3c4d --json')),
    )
    .action(lazy(async () => (await runs()).showRunCommand));

  runsGroup
    .command('logs')
    .argument('<run>', 'pipeline run id')
    .argument('<step>', 'step name; NAME[i] for one item of a foreach step')
    .description("Print a step's stdout (or stderr) from its latest attempt")
    .option('--stderr', 'print stderr instead of stdout')
    .addHelpText(
      'after',
      after(
        examples(
          'cairn pipeline runs logs pr_1a2b3c4d train',
          'cairn pipeline runs logs pr_1a2b3c4d scale[3] --stderr',
        ),
      ),
    )
    .action(lazy(async () => (await runs()).logsCommand));

  runsGroup
    .command('resume')
    .argument('<run>', 'pipeline run id')
    .description(
      'Run a failed or cancelled run again from where it stopped, keeping what succeeded, and follow it',
    )
    .option('--detach', 'print the run id and exit without waiting (with --json: the resumed run)')
    .option('--json', SUMMARY_JSON)
    .addHelpText('after', after(FOLLOW, examples('cairn pipeline runs resume pr_1a2b3c4d')))
    .action(lazy(async () => (await runs()).resumeCommand));

  runsGroup
    .command('cancel')
    .argument('<run>', 'pipeline run id')
    .description('Cancel a run: pending steps never start, running ones are stopped')
    .option('--json', 'print the run as JSON')
    .addHelpText('after', after(examples('cairn pipeline runs cancel pr_1a2b3c4d')))
    .action(lazy(async () => (await runs()).cancelCommand));
}

const TRIGGERS =
  'A schedule starts the pipeline on a five-field cron (minute hour day-of-month month day-of-week),\n' +
  'in UTC or --timezone. A dataset trigger starts it once per new version of the dataset, or each time\n' +
  'the alias moves (NAME@ALIAS), pinned to that version; what exists when it is saved does not fire it.\n' +
  'The server looks every couple of seconds; each due time and each version starts one run.';

const PROJECT = 'the project of the schedule (default: default)';

/** `cairn pipeline schedule FILE` and `cairn pipeline schedules …`. */
function registerScheduleCommands(group: Command): void {
  group
    .command('schedule')
    .argument('<file>', 'the pipeline file')
    .description(
      'Save a schedule (--cron) or a dataset trigger (--on-dataset) that starts runs of a pipeline file',
    )
    .option('--cron <expr>', 'five fields: minute hour day-of-month month day-of-week, e.g. "0 3 * * *"')
    .option('--timezone <zone>', 'IANA zone the cron is read in, e.g. Europe/Paris (default: UTC)')
    .option(
      '--on-dataset <name[@alias]>',
      'run on each new version of the dataset, or each time its alias moves (NAME@ALIAS)',
    )
    .option('--name <name>', "the schedule's name (default: the pipeline's name)")
    .option(
      '--param <name=value>',
      'override a parameter for every run (repeatable); VALUE is read as JSON when it parses, else as text',
      collect,
    )
    .addOption(
      new Option('--executor <name>', "who runs the steps (default: the server's)").choices(
        PIPELINE_EXECUTORS,
      ),
    )
    .option('--project <id>', 'the project the schedule and its runs belong to (default: default)')
    .option('--json', 'print the saved schedule as JSON')
    .addHelpText(
      'after',
      after(
        FILES,
        TRIGGERS,
        'Exactly one of --cron and --on-dataset. The file is checked here first, as `pipeline run` does;\n' +
          'its folder is uploaded now, so later edits need `schedule` again (rm the old one first).',
        examples(
          'cairn pipeline schedule train.yaml --cron "0 3 * * *" --timezone Europe/Paris',
          'cairn pipeline schedule retrain.yaml --on-dataset churn@golden',
          'cairn pipeline schedule report.yaml --on-dataset events --name events-report --param top=20',
        ),
      ),
    )
    .action(lazy(async () => (await schedules()).scheduleCommand));

  const schedulesGroup = group
    .command('schedules')
    .alias('triggers')
    .description('List, inspect, pause, resume, fire and remove pipeline schedules and dataset triggers')
    .addHelpText(
      'after',
      after(
        TRIGGERS,
        examples(
          'cairn pipeline schedules ls',
          'cairn pipeline schedules pause nightly',
          'cairn pipeline schedules fire nightly',
        ),
      ),
    );

  schedulesGroup
    .command('ls')
    .alias('list')
    .description('List schedules: name, project, kind, when, pipeline, enabled, next time')
    .option('--project <id>', 'only schedules of this project')
    .option('--json', 'print an array of schedules as JSON')
    .addHelpText(
      'after',
      after(examples('cairn pipeline schedules ls', 'cairn pipeline schedules ls --project risk --json')),
    )
    .action(lazy(async () => (await schedules()).listSchedulesCommand));

  schedulesGroup
    .command('show')
    .argument('<name>', 'schedule name')
    .description('Show a schedule: what it runs, when, with which parameters, and its next time')
    .option('--project <id>', PROJECT)
    .option('--json', 'print the schedule as JSON')
    .addHelpText('after', after(examples('cairn pipeline schedules show nightly')))
    .action(lazy(async () => (await schedules()).showScheduleCommand));

  schedulesGroup
    .command('pause')
    .argument('<name>', 'schedule name')
    .description('Stop a schedule starting runs until it is resumed (runs already started go on)')
    .option('--project <id>', PROJECT)
    .option('--json', 'print the schedule as JSON')
    .addHelpText('after', after(examples('cairn pipeline schedules pause nightly')))
    .action(lazy(async () => (await schedules()).pauseScheduleCommand));

  schedulesGroup
    .command('resume')
    .argument('<name>', 'schedule name')
    .description(
      'Start a paused schedule again: a cron fires from its next time on (paused times are not made up)',
    )
    .option('--project <id>', PROJECT)
    .option('--json', 'print the schedule as JSON')
    .addHelpText('after', after(examples('cairn pipeline schedules resume nightly')))
    .action(lazy(async () => (await schedules()).resumeScheduleCommand));

  schedulesGroup
    .command('rm')
    .alias('delete')
    .argument('<name>', 'schedule name')
    .description('Delete a schedule (the runs it started are kept)')
    .option('--project <id>', PROJECT)
    .option('--json', 'print {"deleted":{"name","project"}}')
    .addHelpText('after', after(examples('cairn pipeline schedules rm nightly')))
    .action(lazy(async () => (await schedules()).removeScheduleCommand));

  schedulesGroup
    .command('fire')
    .argument('<name>', 'schedule name')
    .description("Start the schedule's pipeline now, as its time would, and follow the run to its end")
    .option('--project <id>', PROJECT)
    .option('--detach', 'print the run id and exit without waiting (with --json: the started run)')
    .option('--json', SUMMARY_JSON)
    .addHelpText(
      'after',
      after(
        FOLLOW,
        examples(
          'cairn pipeline schedules fire nightly',
          'RUN=$(cairn pipeline schedules fire nightly --detach)',
        ),
      ),
    )
    .action(lazy(async () => (await schedules()).fireScheduleCommand));
}
