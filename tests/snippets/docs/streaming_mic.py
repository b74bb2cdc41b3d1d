import symbl

connection = symbl.Streaming.start_connection()

connection.subscribe({'message_response': lambda response: print('got this response from callback', response)})

connection.send_audio_from_mic()
