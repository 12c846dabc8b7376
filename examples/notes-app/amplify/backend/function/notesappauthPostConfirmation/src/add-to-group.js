const { CognitoIdentityProviderClient, AdminAddUserToGroupCommand, GetGroupCommand, CreateGroupCommand } = require('@aws-sdk/client-cognito-identity-provider');

const cognito = new CognitoIdentityProviderClient({});

exports.handler = async (event) => {
  const group = { GroupName: process.env.GROUP, UserPoolId: event.userPoolId };
  try {
    await cognito.send(new GetGroupCommand(group));
  } catch (e) {
    await cognito.send(new CreateGroupCommand(group));
  }
  await cognito.send(new AdminAddUserToGroupCommand({ ...group, Username: event.userName }));
  return event;
};
