import symbl

phoneNumber = "" #A valid US phone number or a Zoom number 
meetingId = "" #Your zoom meetingId, blank otherwise
password = "" # Your zoom meeting passcode, blank otherwise
emailId = "" #An emailId for summary


connection_object = symbl.Telephony.start_pstn(
      # credentials={app_id: <app_id>, app_secret: <app_secret>}, #Optional, Don't add this parameter if you have symbl.conf file in your execution directory
      phone_number=phoneNumber,
      dtmf = ",,{}#,,{}#".format(meetingId, password) #do not change these variables
    )

print(connection_object)
