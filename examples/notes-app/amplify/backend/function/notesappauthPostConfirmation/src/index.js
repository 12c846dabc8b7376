/**
 * PostConfirmation trigger: adds every confirmed user to the group in the
 * GROUP environment variable (the Amplify "add-to-group" module).
 */
const moduleNames = process.env.MODULES.split(',');
const modules = moduleNames.map((name) => require(`./${name}`));

exports.handler = async (event, context) => {
  for (const m of modules) {
    await m.handler(event, context);
  }
  return event;
};
