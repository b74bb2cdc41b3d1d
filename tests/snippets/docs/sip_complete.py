import symbl

emailId = "john@example.com" #Your registered email ID on the conference tool. 

connection = symbl.Telephony.start_sip(uri="sip:8002@sip.example.com",
  actions = [
        {
          "invokeOn": "stop",
          "name": "sendSummaryEmail",
          "parameters": {
            "emails": [
              emailId
            ],
          },
        },
      ]
)
connection.subscribe({'transcript_response': lambda response: print('printing the first response ' + str(response)), 'insight_response': lambda response: print('printing the first response ' + str(response))})
