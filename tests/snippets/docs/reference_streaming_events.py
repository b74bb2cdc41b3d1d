events = {
   'message_response': lambda response: print('Final Messages -> ', [message['payload']['content'] for message in response['messages']])}

insight_types = ['question', 'action_item']

connection_object = symbl.Streaming.start_connection(
   insight_types=insight_types)

connection_object.subscribe(events)

connection_object.send_audio_from_mic()
